import type { HistoryEvent } from '@x/linearizability';
import { HistoryRecorder, registerModel, renderHtmlReport } from '@x/linearizability';
import type { LinkRule } from '@x/kv-node/link-proxy';
import { LinkProxy, passRule } from '@x/kv-node/link-proxy';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import type { ChaosResult } from './chaos-result.js';
import { DataFilesystem, dataFilesystemAvailable } from './data-filesystem.js';
import type { CheckReport } from './checks.js';
import {
  checkLinearizable,
  checkNoFailedWriteVisible,
  checkNoUnexpectedExit,
  checkPoisonAnswered,
  checkSetReads,
  checkStateHashes,
  checkWriteAfterHeal,
  checkMembershipChanges,
  stateHash,
} from './checks.js';
import { isClusterWhole, isQuorumClusterWhole } from './cluster-recovery.js';
import type { ClusterView } from './etcd-json-client.js';
import { countFalseSuspicions, parseLeaderElections } from './leader-elections.js';
import { EtcdJsonClient } from './etcd-json-client.js';
import { freePorts } from '../../../tools/net/free-port.js';
import type { KvNodeSpec } from './kv-cluster.js';
import { faketimeAvailable, KvCluster, nodePaths } from './kv-cluster.js';
import type { FaultWindow } from './measures.js';
import { failoverTimes, faultMeasures, majoritySideAvailability, percentile } from './measures.js';
import { memberIdOf } from './member-id.js';
import { addAndPromote, removeMember, removeRunningMember } from './membership-faults.js';
import type { Fault, FaultKind, NemesisSchedule } from './nemesis-schedule.js';
import {
  blockedLinks,
  describeFault,
  faultDurationMs,
  generateSchedule,
  quorumFaultKinds,
  GROW_SHRINK_MEMBERS,
  selectNodes,
} from './nemesis-schedule.js';
import type { OperationSample } from './operation-sample.js';
import { countOutcomes } from './operation-sample.js';
import type { PoisonKind } from './poison-requests.js';
import { defaultPoisonKinds } from './poison-requests.js';
import type { PoisonResult } from './poison-workload.js';
import { runPoisonWorkload } from './poison-workload.js';
import { RegisterWatcher } from './register-watcher.js';
import { runRegisterWorkload } from './register-workload.js';
import { SeededRandom } from './seeded-random.js';
import { runSetWorkload } from './set-workload.js';
import type { StateBackend } from './state-backend.js';
import { stateBackendArgs } from './state-backend.js';
import type { RegisterWrite } from './watch-check.js';
import { checkWatchStream } from './watch-check.js';

/**
 * How peer connections reach the proxy.
 * - `per-link` (default): one proxy listener per directed link. Each member is listed in
 *   `--initial-cluster` with one URL per peer that dials it (so member ids, hashed from the
 *   sorted URLs, agree everywhere), and each node lists a peer's URLs starting with its own
 *   link's listener, since a node dials a peer's first URL.
 * - `shared`: one proxy listener per node, advertised as its peer URL; the proxy recognises the
 *   dialer from its node id (the member name) in the handshake's first bytes.
 * - `direct`: no proxy; partition, delay and drop faults are skipped.
 */
export type PeerRouting = 'shared' | 'per-link' | 'direct';

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  /** kv-node's built CLI, e.g. `apps/kv-node/dist/cli.js`. */
  readonly kvNodeCli: string;
  readonly nodeCount: number;
  /** Length of the faulty part, in milliseconds (the heal and checks come after). */
  readonly durationMs: number;
  readonly seed: number;
  /** Fault kinds to draw from (default: all). */
  readonly kinds?: readonly FaultKind[];
  /**
   * Apply exactly this many faults and end once the last has recovered, however long that takes
   * (`durationMs` is then ignored). For failover figures over a number of leader kills.
   */
  readonly faultCount?: number;
  /** Parent folder of the run's folder (e.g. `results/`). */
  readonly resultsDirectory: string;
  /** Register workers (default 10) and workers per key (default 5, at most 6). */
  readonly registerWorkers?: number;
  readonly workersPerKey?: number;
  /** Set workload workers (default 2). */
  readonly setWorkers?: number;
  /**
   * Poison requests mixed into the workload (default: {@link defaultPoisonKinds}; empty for
   * none): each must get its expected refusal and none may affect the other checks.
   */
  readonly poisonKinds?: readonly PoisonKind[];
  /** Poison workers, each sending one poison every 200 ms (default 1). */
  readonly poisonWorkers?: number;
  /** Client request timeout in milliseconds (default 3000); past it an operation is `info`. */
  readonly requestTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly electionTimeoutMs?: number;
  /** Extra flags for every node (e.g. a deliberately unsafe option for the checker-bites test). */
  readonly extraNodeArgs?: readonly string[];
  readonly peerRouting?: PeerRouting;
  /** Deliberately unsafe: register reads are serializable but checked as linearizable. */
  readonly unsafeSerializableReads?: boolean;
  /**
   * kv-node's replication mode (default `leader`). In `quorum` mode (`--replication quorum`)
   * there is no leader: the register workload reads and writes (no compare-and-set: quorum mode
   * has none), the watcher and poison requests are left out (no watch; poison answers are leader
   * mode's), faults aimed at "the leader" hit a member drawn from the seed, and a fault is over
   * once every member sees every other reachable again.
   */
  readonly replication?: 'leader' | 'quorum';
  /**
   * Quorum mode: the consistency level of the register workload's reads and writes (default
   * `linearizable`, the level whose histories must be linearizable; `quorum` and `one` do not
   * promise it, and a run at those levels shows where the checker catches them).
   */
  readonly consistency?: 'one' | 'quorum' | 'linearizable';
  /**
   * kv-node's state backend (`--backend`; default: kv-node's, `memory`). Leader mode only: quorum
   * mode has no state store.
   */
  readonly backend?: StateBackend;
  /** Keep data directories after a passing run (default: deleted). */
  readonly keepData?: boolean;
  /** Progress lines for the terminal. */
  readonly log?: (line: string) => void;
  /** Aborts the run (Ctrl-C): faults stop, nodes are killed, the result is a failure. */
  readonly signal?: AbortSignal;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** How long a fault's recovery is waited for before the schedule goes on regardless. */
const recoveryLimitMs = 15_000;

/**
 * Bytes of each direction of a peer connection a `link-tamper` fault leaves alone: the
 * handshake (a few hundred bytes), so tampering hits frames after it, which is where an on-path
 * attacker gains something.
 */
const tamperSparesBytes = 1024;

const clusterToken = 'chaos-cluster';

/** Prefix of every register key, which the run's watcher watches. */
const registerPrefix = 'r/';

/**
 * Runs one chaos test: starts a kv-node cluster with its peer links through the proxy, runs the
 * register and set workloads while applying the seeded nemesis schedule, heals everything, waits
 * for convergence, checks, and writes the results under `resultsDirectory`. Every node started is
 * killed before it returns or throws.
 * @throws Error if the cluster cannot be started (no leader within 30 s), the run is aborted
 *   before it has a result, or `backend` is `lmdb` in quorum mode.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  const routing = options.peerRouting ?? 'per-link';
  const quorumMode = options.replication === 'quorum';
  // Checked before anything starts: lmdb in quorum mode would test nothing more than memory.
  const backendArgs = stateBackendArgs(options.backend, quorumMode);
  const kinds = options.kinds ?? (quorumMode ? quorumFaultKinds : undefined);
  const schedule = generateSchedule({
    seed: options.seed,
    nodeCount: options.nodeCount,
    durationMs: options.durationMs,
    ...(kinds === undefined ? {} : { kinds }),
    ...(options.faultCount === undefined ? {} : { faultCount: options.faultCount }),
  });
  // Spare nodes for the grow-shrink faults: started only when one adds them as new members.
  const spareCount =
    quorumMode || routing === 'shared'
      ? 0
      : GROW_SHRINK_MEMBERS *
        schedule.steps.filter((step) => step.fault.kind === 'grow-shrink').length;
  const names = Array.from(
    { length: options.nodeCount + spareCount },
    (_, index) => `node-${String.fromCharCode(97 + index)}`,
  );
  const initialMembers = names.slice(0, options.nodeCount);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const runDirectory = join(
    options.resultsDirectory,
    `${stamp}-seed${options.seed}-n${options.nodeCount}`,
  );
  mkdirSync(runDirectory, { recursive: true });
  log(
    `seed ${options.seed}: ${schedule.steps.length} faults over ${schedule.durationMs} ms on ${options.nodeCount} nodes (${routing} peer routing${options.backend === undefined ? '' : `, ${options.backend} backend`}${quorumMode ? `, quorum mode at consistency ${options.consistency ?? 'linearizable'}` : ''})`,
  );
  for (const step of schedule.steps)
    log(`  at ${(step.atMs / 1000).toFixed(1)} s: ${describeFault(step.fault, initialMembers)}`);
  if (spareCount > 0)
    log(`  spare nodes for grow-shrink: ${names.slice(options.nodeCount).join(', ')}`);
  writeFileSync(join(runDirectory, 'schedule.json'), `${JSON.stringify(schedule, null, 2)}\n`);

  const notices: string[] = [];
  // A spare starts long after its ports are chosen: freePort draws from outside the ephemeral
  // range, so no outgoing connection of the run takes one meanwhile.
  const ports = await freePorts(2 * names.length);
  const clientPorts = ports.slice(0, names.length);
  const peerPorts = ports.slice(names.length);
  const markers = new Map<string, Uint8Array[]>();
  const proxy =
    routing === 'direct'
      ? undefined
      : await LinkProxy.start({
          targets: names.map((name, index) => ({
            name,
            host: '127.0.0.1',
            port: peerPorts[index] as number,
          })),
          random: new SeededRandom(options.seed ^ 0x5eed),
          ...(routing === 'shared' ? { sourceMarkers: markers } : {}),
        });
  const urlOf = (port: number): string => `http://127.0.0.1:${port}`;
  /** The URLs member `name` is known by, the one `viewer` dials first. */
  const peerUrlsOf = (name: string, index: number, viewer: string): string[] => {
    if (proxy === undefined) return [urlOf(peerPorts[index] as number)];
    if (routing === 'shared') return [urlOf(proxy.sharedAddress(name).port)];
    const dialers = names.filter((other) => other !== name);
    const first = dialers.includes(viewer) ? [viewer] : [];
    return [...first, ...dialers.filter((other) => other !== viewer)].map((dialer) =>
      urlOf(proxy.linkAddress(dialer, name).port),
    );
  };
  const specs: KvNodeSpec[] = names.map((name, index) => ({
    index,
    name,
    clientUrl: urlOf(clientPorts[index] as number),
    listenPeerUrl: urlOf(peerPorts[index] as number),
    advertisedPeerUrls: peerUrlsOf(name, index, name),
    // A spare lists every node: when it joins, only those the cluster then lists are kept.
    initialCluster: (index < options.nodeCount ? initialMembers : names)
      .flatMap((member, memberIndex) =>
        peerUrlsOf(member, memberIndex, name).map((url) => `${member}=${url}`),
      )
      .join(','),
    ...nodePaths(runDirectory, name),
    extraArgs: [],
  }));
  for (const spec of specs) {
    markers.set(spec.name, [
      Buffer.from(spec.name),
      Buffer.from(memberIdOf(spec.advertisedPeerUrls, clusterToken)),
    ]);
  }
  // Members of a cluster must share a random peer secret (kv-node refuses to derive one).
  const peerSecretFile = join(runDirectory, 'peer-secret');
  writeFileSync(peerSecretFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const commonArgs = [
    '--peer-secret-file',
    peerSecretFile,
    ...(quorumMode ? ['--replication', 'quorum'] : []),
    ...backendArgs,
    ...(options.heartbeatIntervalMs === undefined
      ? []
      : ['--heartbeat-interval', String(options.heartbeatIntervalMs)]),
    ...(options.electionTimeoutMs === undefined
      ? []
      : ['--election-timeout', String(options.electionTimeoutMs)]),
    ...(options.extraNodeArgs ?? []),
  ];
  const cluster = new KvCluster({
    cliPath: options.kvNodeCli,
    nodes: specs,
    clusterToken,
    commonArgs,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const timeoutMs = options.requestTimeoutMs ?? 3000;
  const clients = specs.map(
    (spec) =>
      new EtcdJsonClient({
        endpoint: spec.clientUrl,
        timeoutMs,
        agent,
        ...(quorumMode ? { consistency: options.consistency ?? 'linearizable' } : {}),
      }),
  );
  const control = specs.map(
    (spec) => new EtcdJsonClient({ endpoint: spec.clientUrl, timeoutMs: 1000, agent }),
  );
  // Reading a whole store at the end is not a liveness probe: give each page time on a busy host.
  const finalReaders = specs.map(
    (spec) => new EtcdJsonClient({ endpoint: spec.clientUrl, timeoutMs: 10_000, agent }),
  );
  const faketime =
    schedule.steps.some((step) => step.fault.kind === 'clock-offset') && faketimeAvailable();
  // A disk-full fault needs each member's data directory on its own file system, mounted
  // before the member first starts (the fault may hit whichever member leads by then).
  const filesystems =
    schedule.steps.some((step) => step.fault.kind === 'disk-full') && dataFilesystemAvailable()
      ? specs.map((spec) => new DataFilesystem(spec.dataDir))
      : undefined;
  let result: ChaosResult | undefined;
  try {
    for (const filesystem of filesystems ?? []) filesystem.mount();
    for (let index = 0; index < options.nodeCount; index++) cluster.start(index);
    log(`starting ${initialMembers.join(', ')}; logs in ${join(runDirectory, 'logs')}`);
    const initialControl = control.slice(0, options.nodeCount);
    const leader = quorumMode
      ? await waitForQuorumCluster(initialControl, cluster, 30_000, options.signal)
      : await waitForLeader(initialControl, cluster, 30_000, options.signal);
    if (leader === undefined) {
      const exits = cluster.unexpectedExits.map(
        (exit) =>
          `${exit.node} exited with code ${exit.code} (${lastLogLine(join(runDirectory, 'logs', `${exit.node}.log`))})`,
      );
      throw new Error(
        exits.length > 0
          ? `the cluster did not start: ${exits.join('; ')}`
          : `${quorumMode ? 'members not all reachable' : 'no leader'} within 30 s; see the node logs in ${join(runDirectory, 'logs')}`,
      );
    }
    log(quorumMode ? 'every member reachable from every other' : `leader: ${names[leader]}`);
    result = await runWorkloadAndFaults({
      options,
      schedule,
      names,
      members: new Set(initialMembers.map((_, index) => index)),
      spares: names.map((_, index) => index).slice(options.nodeCount),
      cluster,
      proxy,
      // The watcher and the poison workload talk to the initial members (a removed member answers
      // nothing again, like a killed one); the register and set workloads follow the members.
      clients: clients.slice(0, options.nodeCount),
      allClients: clients,
      control,
      finalReaders,
      runDirectory,
      notices,
      faketime,
      filesystems,
      quorumMode,
      standInLeaders: new SeededRandom(options.seed ^ 0x1eade4),
      removals: new SeededRandom(options.seed ^ 0x5e1ec7),
      membership: { completed: 0, failures: [] },
      log,
    });
    return result;
  } finally {
    await cluster.stopAll();
    await proxy?.close();
    agent.destroy();
    for (const filesystem of filesystems ?? []) filesystem.unmount();
    for (const exit of cluster.unexpectedExits)
      log(`note: ${exit.node} exited by itself (code ${exit.code}, signal ${exit.signal})`);
    // Only now: a member's data directory may have been a mount point until just above.
    if (result?.passed === true && options.keepData !== true) {
      try {
        rmSync(join(runDirectory, 'data'), { recursive: true, force: true });
      } catch (error) {
        // A mount point still busy (unmounted lazily) is no reason to lose the result.
        log(`note: could not delete ${join(runDirectory, 'data')}: ${(error as Error).message}`);
      }
    }
  }
}

interface RunContext {
  readonly options: ChaosOptions;
  readonly schedule: NemesisSchedule;
  /** Every node: the initial members, then the spares (indexes into the arrays below). */
  readonly names: readonly string[];
  /** The nodes that are members now (grow-shrink adds spares and removes members). */
  readonly members: Set<number>;
  /** Spare nodes not added yet, in the order they will be. */
  readonly spares: number[];
  readonly cluster: KvCluster;
  readonly proxy: LinkProxy | undefined;
  readonly clients: readonly EtcdJsonClient[];
  /** A client of every node, spares included, by node index. */
  readonly allClients: readonly EtcdJsonClient[];
  readonly control: readonly EtcdJsonClient[];
  /** Clients with a long timeout for reading whole stores after the heal. */
  readonly finalReaders: readonly EtcdJsonClient[];
  readonly runDirectory: string;
  readonly notices: string[];
  readonly faketime: boolean;
  /** Each member's own data file system, when disk-full faults can run. */
  readonly filesystems: readonly DataFilesystem[] | undefined;
  /** kv-node runs `--replication quorum`: no leader, no watch, no compare-and-set. */
  readonly quorumMode: boolean;
  /** Quorum mode: draws the member a fault aimed at "the leader" hits. */
  readonly standInLeaders: SeededRandom;
  /** Draws the followers a grow-shrink fault removes. */
  readonly removals: SeededRandom;
  /** Membership changes the faults made, and those that failed (one line each). */
  readonly membership: { completed: number; readonly failures: string[] };
  readonly log: (line: string) => void;
}

async function runWorkloadAndFaults(context: RunContext): Promise<ChaosResult> {
  if (context.quorumMode) {
    context.notices.push('quorum mode: no watcher (quorum mode has no watch)');
    return runWatchedWorkloadAndFaults(context, undefined);
  }
  // One watcher of every register key through the faults, checked against the writes; stopped
  // however the run ends, so it never re-opens streams after it.
  const watcher = new RegisterWatcher({
    endpoints: context.clients.map((client) => client.endpoint),
    prefix: registerPrefix,
    log: context.log,
  });
  watcher.start();
  try {
    return await runWatchedWorkloadAndFaults(context, watcher);
  } finally {
    await watcher.stop();
  }
}

async function runWatchedWorkloadAndFaults(
  context: RunContext,
  watcher: RegisterWatcher | undefined,
): Promise<ChaosResult> {
  const { options, schedule, names, cluster, proxy, clients, control, runDirectory, notices, log } =
    context;
  const start = performance.now();
  // Members log wall-clock times: this maps them onto the runner's clock (elections).
  const workloadStartWallMs = Date.now();
  const now = (): number => performance.now() - start;
  const recorder = new HistoryRecorder({ clock: { now } });
  const samples: OperationSample[] = [];
  const onSample = (sample: OperationSample): void => {
    samples.push(sample);
  };
  let stopping = false;
  const random = new SeededRandom(options.seed ^ 0x0c11e47);
  const writes: RegisterWrite[] = [];
  // The workloads follow the members (grow-shrink adds and removes some); the watcher, the
  // poison workload and the checks keep to the initial members' clients.
  const currentMembers = (): number[] => [...context.members].sort((left, right) => left - right);
  const registerRun = runRegisterWorkload({
    clients: context.allClients,
    nodes: currentMembers,
    recorder,
    random,
    workers: options.registerWorkers ?? 10,
    workersPerKey: options.workersPerKey ?? 5,
    keyPrefix: registerPrefix,
    ...(options.unsafeSerializableReads === true ? { unsafeSerializableReads: true } : {}),
    ...(context.quorumMode ? { compareAndSet: false } : {}),
    now,
    stopping: () => stopping,
    onSample,
    onWrite: (write) => writes.push(write),
  });
  const setRun = runSetWorkload({
    clients: context.allClients,
    nodes: currentMembers,
    workers: options.setWorkers ?? 2,
    now,
    stopping: () => stopping,
    onSample,
  });
  const poisonKinds = options.poisonKinds ?? (context.quorumMode ? [] : defaultPoisonKinds);
  const poisonRun: Promise<PoisonResult | undefined> =
    poisonKinds.length === 0 || (options.poisonWorkers ?? 1) === 0
      ? Promise.resolve(undefined)
      : runPoisonWorkload({
          endpoints: clients.map((client) => client.endpoint),
          kinds: poisonKinds,
          workers: options.poisonWorkers ?? 1,
          random: new SeededRandom(options.seed ^ 0x9015011),
          stopping: () => stopping,
        });
  const progress = setInterval(() => {
    const counts = countOutcomes(samples);
    log(
      `[${(now() / 1000).toFixed(0)} s] ok ${counts.ok}, fail ${counts.fail}, info ${counts.info}`,
    );
  }, 5000);
  const applied: AppliedFault[] = [];
  let aborted = false;
  try {
    // A fault is over once the cluster has recovered from it (a restarted node can take seconds
    // to replay its log), not when its nemesis action is undone: the quiet time before the next
    // fault starts then, so no fault lands on a cluster still recovering from the previous one
    // unless the schedule itself combines them. The schedule shifts later by the recovery time;
    // faults that no longer fit in the run are left out, with a notice.
    let shiftMs = 0;
    for (const [stepIndex, step] of schedule.steps.entries()) {
      const faultMs = faultDurationMs(step.fault);
      // With a fault count, every fault is applied however long recoveries take.
      if (options.faultCount === undefined && step.atMs + shiftMs + faultMs > schedule.durationMs) {
        const left = schedule.steps.length - stepIndex;
        notices.push(
          `${left} of ${schedule.steps.length} faults not reached: recoveries took ${Math.round(shiftMs)} ms of the run`,
        );
        break;
      }
      await sleep(step.atMs + shiftMs - now());
      if (options.signal?.aborted === true) {
        aborted = true;
        break;
      }
      const fault = await applyFault(context, step.fault, now);
      const recoveredAfterMs = await waitUntilRecovered(
        control,
        [...context.members].sort((left, right) => left - right),
        cluster,
        recoveryLimitMs,
        options.signal,
        context.quorumMode ? isQuorumClusterWhole : isClusterWhole,
      );
      if (recoveredAfterMs === undefined) {
        notices.push(
          `the cluster had not recovered ${recoveryLimitMs} ms after "${fault.window.description}"`,
        );
      }
      applied.push(
        recoveredAfterMs === undefined
          ? fault
          : { ...fault, window: { ...fault.window, recoveredAfterMs } },
      );
      shiftMs = Math.max(shiftMs, now() - (step.atMs + faultMs));
    }
    if (!aborted && options.faultCount === undefined) await sleep(schedule.durationMs - now());
  } finally {
    // The final heal: every link passes, every node runs.
    proxy?.healAll();
    for (const index of context.members) {
      cluster.resume(index);
      if (!cluster.isRunning(index)) cluster.start(index);
    }
  }
  const healAtMs = now();
  log(`[${(healAtMs / 1000).toFixed(0)} s] healed everything; probing for a write`);
  const writeAfterHealMs = await probeWrite(control, 15_000);
  // A little traffic after the heal, so the histories show the cluster working again.
  await sleep(2000);
  stopping = true;
  clearInterval(progress);
  const [register, set, poison] = await Promise.all([registerRun, setRun, poisonRun]);
  log(`workload stopped after ${(now() / 1000).toFixed(0)} s; waiting for convergence`);

  // The members at the end: spares added and members removed by grow-shrink are accounted for.
  const finalMembers = [...context.members].sort((left, right) => left - right);
  const converged = await waitForConvergence(
    finalMembers.map((index) => context.finalReaders[index] as EtcdJsonClient),
    20_000,
  );
  // Final linearizable reads of every register key join the history: a lost write shows there.
  const finalClients = finalMembers.map((index) => context.allClients[index] as EtcdJsonClient);
  for (const [index, key] of register.keys.entries()) {
    const client = finalClients[index % finalClients.length] as EtcdJsonClient;
    const pending = recorder.invoke(`final-${index}`, { op: 'read', key });
    try {
      const kvs = await client.range(key);
      pending.ok(kvs[0] === undefined ? null : Number(kvs[0].value));
    } catch {
      pending.info();
    }
  }
  // The watcher must get to the last acknowledged write; a stalled stream is re-opened elsewhere.
  const lastAcknowledged = writes.reduce((last, write) => Math.max(last, write.revision ?? 0), 0);
  if (watcher !== undefined) {
    const watchCaughtUp = await watcher.catchUp(lastAcknowledged, 20_000);
    await watcher.stop();
    log(
      `watcher: ${watcher.events.length} events over ${watcher.streamsOpened} streams, ${watchCaughtUp ? 'caught up with' : 'short of'} revision ${lastAcknowledged}`,
    );
  }
  const setKeysByNode = new Map<string, Set<string> | Error>();
  const hashes = new Map<string, string | Error>();
  for (const [position, index] of finalMembers.entries()) {
    const name = names[index] as string;
    const state = converged[position];
    if (state instanceof Error || state === undefined) {
      setKeysByNode.set(name, state ?? new Error('no final read'));
      hashes.set(name, state ?? new Error('no final read'));
    } else {
      setKeysByNode.set(
        name,
        new Set(state.filter((kv) => kv.key.startsWith('s/')).map((kv) => kv.key)),
      );
      hashes.set(name, stateHash(state));
    }
  }

  const events: readonly HistoryEvent[] = recorder.events;
  log(`checking ${events.length} history events`);
  const linearizability = checkLinearizable(events);
  const checks: CheckReport[] = [
    linearizability.report,
    checkNoFailedWriteVisible(events),
    ...(watcher === undefined ? [] : checkWatchStream(writes, watcher.events, watcher.coverage())),
    ...checkSetReads(set, setKeysByNode),
    checkStateHashes(hashes),
    checkWriteAfterHeal(writeAfterHealMs),
    ...(poison === undefined ? [] : [checkPoisonAnswered(poison)]),
    checkNoUnexpectedExit(cluster.unexpectedExits),
    ...(schedule.steps.some(
      (step) => step.fault.kind === 'replace-member' || step.fault.kind === 'grow-shrink',
    )
      ? [checkMembershipChanges(context.membership.failures, context.membership.completed)]
      : []),
  ];
  if (aborted) checks.push({ name: 'completed', passed: false, detail: 'the run was aborted' });
  for (const exit of cluster.unexpectedExits) {
    notices.push(
      `${exit.node} exited by itself (code ${exit.code}, signal ${exit.signal}); see its log`,
    );
  }
  const windows: FaultWindow[] = await Promise.all(
    applied.map(async ({ window, failover }) => {
      const failoverMs = await failover;
      return failoverMs === undefined ? window : { ...window, failoverMs };
    }),
  );
  const elections = countFalseSuspicions(
    names.flatMap((name) =>
      parseLeaderElections(
        readLog(join(runDirectory, 'logs', `${name}.log`)),
        name,
        workloadStartWallMs,
      ),
    ),
    windows,
  );
  const failover = failoverTimes(windows);
  const failoverAfterKills = failoverTimes(windows, ['kill']);
  const counts = countOutcomes(samples);
  const result: ChaosResult = {
    seed: options.seed,
    nodeCount: options.nodeCount,
    ...(context.quorumMode ? {} : { backend: options.backend ?? 'memory' }),
    // With a fault count the schedule, not the option, says how long the faulty part was planned.
    durationMs: schedule.durationMs,
    passed: checks.every((check) => check.passed),
    checks,
    schedule,
    faults: windows,
    measures: {
      operations: counts,
      okPerSecond: counts.ok / (healAtMs / 1000),
      faults: faultMeasures(samples, windows),
      failoverMs: failover,
      failoverP50Ms: percentile(failover, 50),
      failoverP99Ms: percentile(failover, 99),
      leaderKillFailoverMs: failoverAfterKills,
      leaderKillFailoverP50Ms: percentile(failoverAfterKills, 50),
      leaderKillFailoverP99Ms: percentile(failoverAfterKills, 99),
      majoritySideDuringMinorityPartition: majoritySideAvailability(samples, windows),
      elections,
    },
    ...(poison === undefined ? {} : { poison }),
    notices,
    runDirectory,
  };
  writeFileSync(join(runDirectory, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(runDirectory, 'history.jsonl'), recorder.toJsonLines());
  writeFileSync(join(runDirectory, 'samples.json'), JSON.stringify(samples));
  writeFileSync(
    join(runDirectory, 'watch.json'),
    `${JSON.stringify({ streams: watcher?.notes ?? [], events: watcher?.events ?? [], writes })}\n`,
  );
  writeFileSync(
    join(runDirectory, 'set.json'),
    `${JSON.stringify({ acknowledged: set.acknowledged.length, failed: set.failed, indeterminate: set.indeterminate }, null, 2)}\n`,
  );
  if (linearizability.result.outcome === 'not-linearizable') {
    writeFileSync(join(runDirectory, 'timeline.txt'), `${linearizability.result.timeline}\n`);
    writeFileSync(
      join(runDirectory, 'timeline.html'),
      renderHtmlReport(linearizability.result, {
        model: registerModel(),
        title: `chaos seed ${options.seed}: key ${linearizability.result.key}`,
      }),
    );
  }
  return result;
}

/** Applies one fault, waits for its duration, undoes it, and returns its window. */
async function applyFault(
  context: RunContext,
  fault: Fault,
  now: () => number,
): Promise<AppliedFault> {
  const { cluster, proxy, names, control, log } = context;
  // Quorum mode has no leader: a fault aimed at it hits a running member drawn from the seed.
  const running = names.map((_, index) => index).filter((index) => cluster.isRunning(index));
  const leader = context.quorumMode
    ? running.length === 0
      ? undefined
      : context.standInLeaders.pick(running)
    : await findLeader(control, cluster);
  const description = describeFault(fault, names);
  const startMs = now();
  const window = (affectedNodes: number[], extra: { skipped?: string } = {}): FaultWindow => ({
    description: `${description}${leader === undefined ? '' : ` [${context.quorumMode ? 'stand-in leader' : 'leader'} ${names[leader]}]`}`,
    kind: fault.kind,
    startMs,
    endMs: now(),
    affectedNodes,
    leaderLost: false,
    ...extra,
  });
  const skip = (reason: string): AppliedFault => {
    log(`[${(startMs / 1000).toFixed(1)} s] skipped: ${description}: ${reason}`);
    context.notices.push(`skipped "${description}": ${reason}`);
    return { window: window([], { skipped: reason }) };
  };
  const durationMs = faultDurationMs(fault);
  const everyMember = [...context.members].sort((left, right) => left - right);
  // A node no longer a member (removed by grow-shrink) is out of reach of later faults.
  let targets = (
    fault.kind === 'partition'
      ? fault.shape.kind === 'ring'
        ? everyMember
        : selectNodes(fault.shape.nodes, leader)
      : fault.kind === 'stale-leader'
        ? selectNodes({ kind: 'leader' }, leader)
        : fault.kind === 'kill-all'
          ? everyMember
          : fault.kind === 'grow-shrink'
            ? selectNodes({ kind: 'leader' }, leader)
            : selectNodes(fault.nodes, leader)
  ).filter((index) => context.members.has(index));
  if (targets.length === 0) {
    return skip(leader === undefined ? 'no leader known' : 'its nodes are no longer members');
  }
  const leaderLost =
    !context.quorumMode &&
    leader !== undefined &&
    targets.includes(leader) &&
    (fault.kind === 'kill' ||
      fault.kind === 'kill-all' ||
      fault.kind === 'disk-full' ||
      fault.kind === 'pause' ||
      fault.kind === 'clock-offset' ||
      fault.kind === 'stale-leader' ||
      fault.kind === 'replace-member' ||
      (fault.kind === 'grow-shrink' && fault.removeLeader) ||
      (fault.kind === 'partition' && fault.shape.kind !== 'ring'));
  let failover: Promise<number | undefined> | undefined;
  const startFailoverProbe = (): void => {
    if (!leaderLost) return;
    const spared = [...context.members].filter((index) => !targets.includes(index));
    failover = probeFailover(control, spared, now, startMs + durationMs + 5000).then((atMs) =>
      atMs === undefined ? undefined : atMs - startMs,
    );
  };
  log(
    `[${(startMs / 1000).toFixed(1)} s] ${description} -> ${targets.map((index) => names[index]).join(', ')}`,
  );
  switch (fault.kind) {
    case 'kill': {
      await Promise.all(targets.map((index) => cluster.kill(index)));
      startFailoverProbe();
      await sleep(durationMs);
      for (const index of targets) cluster.start(index);
      break;
    }
    case 'pause': {
      for (const index of targets) cluster.pause(index);
      startFailoverProbe();
      await sleep(durationMs);
      for (const index of targets) cluster.resume(index);
      break;
    }
    case 'partition': {
      if (proxy === undefined) return skip('no proxy (direct peer routing)');
      const links = blockedLinks(fault.shape, names.length, leader);
      setRules(proxy, names, links, { kind: 'blackhole' });
      startFailoverProbe();
      await sleep(durationMs);
      setRules(proxy, names, links, passRule);
      break;
    }
    case 'link-delay':
    case 'link-drop': {
      if (proxy === undefined) return skip('no proxy (direct peer routing)');
      const links = linksOf(targets, names.length);
      const rule: LinkRule =
        fault.kind === 'link-delay'
          ? { kind: 'delay', delayMs: fault.delayMs, jitterMs: fault.jitterMs }
          : { kind: 'drop', probability: fault.probability };
      setRules(proxy, names, links, rule);
      await sleep(durationMs);
      setRules(proxy, names, links, passRule);
      break;
    }
    case 'clock-offset': {
      if (!context.faketime) return skip('faketime is not installed (apt-get install faketime)');
      for (const index of targets) {
        await cluster.kill(index);
        cluster.start(index, { wallClock: { offsetMs: fault.offsetMs, rate: fault.rate ?? 1 } });
      }
      startFailoverProbe();
      await sleep(durationMs);
      for (const index of targets) {
        await cluster.kill(index);
        cluster.start(index);
      }
      break;
    }
    case 'kill-all': {
      await Promise.all(targets.map((index) => cluster.kill(index)));
      await sleep(durationMs);
      for (const index of targets) cluster.start(index);
      break;
    }
    case 'disk-full': {
      const filesystems = context.filesystems;
      if (filesystems === undefined) {
        return skip('no per-member tmpfs (mounting one needs root and mount)');
      }
      for (const [position, index] of targets.entries()) {
        try {
          (filesystems[index] as DataFilesystem).fill();
        } catch (error) {
          for (const filled of targets.slice(0, position)) {
            (filesystems[filled] as DataFilesystem).free();
          }
          return skip(`cannot fill the disk: ${(error as Error).message}`);
        }
        cluster.expectExit(index);
      }
      startFailoverProbe();
      const stopped = await Promise.all(
        targets.map(async (index) => {
          const exited = await cluster.waitForExit(index, durationMs, context.options.signal);
          return { index, exited, afterMs: now() - startMs };
        }),
      );
      for (const { index, exited, afterMs } of stopped) {
        const name = names[index] as string;
        if (exited) {
          log(
            `[${(now() / 1000).toFixed(1)} s] ${name} fail-stopped ${Math.round(afterMs)} ms after its disk filled`,
          );
        } else {
          context.notices.push(
            `${name}'s process still ran ${durationMs} ms after its disk filled ("${description}"); its log says whether its replica fail-stopped`,
          );
        }
      }
      await sleep(startMs + durationMs - now());
      for (const index of targets) {
        (filesystems[index] as DataFilesystem).free();
        await cluster.kill(index);
        cluster.start(index);
      }
      break;
    }
    case 'link-tamper': {
      if (proxy === undefined) return skip('no proxy (direct peer routing)');
      const links = linksOf(targets, names.length);
      const before = proxy.statistics().bytesTampered;
      setRules(proxy, names, links, {
        kind: 'tamper',
        probability: fault.probability,
        afterBytes: tamperSparesBytes,
      });
      await sleep(durationMs);
      setRules(proxy, names, links, passRule);
      log(
        `[${(now() / 1000).toFixed(1)} s] tampered with ${proxy.statistics().bytesTampered - before} chunks`,
      );
      break;
    }
    case 'stale-leader': {
      if (proxy === undefined) return skip('no proxy (direct peer routing)');
      const isolated = blockedLinks(
        { kind: 'isolate', nodes: { kind: 'nodes', indexes: targets } },
        names.length,
        leader,
      );
      // Cut off as it falls asleep: the new leader's messages would otherwise wait in its
      // socket buffers and depose it the moment it wakes, hiding what it does on its own.
      for (const index of targets) cluster.pause(index);
      setRules(proxy, names, isolated, { kind: 'blackhole' });
      startFailoverProbe();
      await sleep(fault.pauseMs);
      for (const index of targets) cluster.resume(index);
      await sleep(fault.isolatedAfterWakeMs);
      setRules(proxy, names, isolated, passRule);
      break;
    }
    case 'replace-member': {
      if (context.quorumMode) return skip('quorum mode has no membership changes');
      if (context.options.peerRouting === 'shared') {
        // The shared listeners know dialers by member id, and a member added back has a new one.
        return skip('shared peer routing cannot tell a member added back (a new member id)');
      }
      await Promise.all(targets.map((index) => cluster.kill(index)));
      startFailoverProbe();
      for (const index of targets) cluster.wipeData(index);
      await sleep(durationMs);
      for (const index of targets) {
        await membershipStep(context, `replace ${names[index]}`, async () => {
          await removeMember(cluster, index);
          await addAndPromote(cluster, index);
        });
      }
      break;
    }
    case 'grow-shrink': {
      if (context.quorumMode) return skip('quorum mode has no membership changes');
      if (context.options.peerRouting === 'shared') {
        // The shared listeners know dialers by member id, and an added member has a new one.
        return skip('shared peer routing cannot tell an added member (a new member id)');
      }
      const spares = context.spares.splice(0, GROW_SHRINK_MEMBERS);
      if (spares.length < GROW_SHRINK_MEMBERS) return skip('no spare nodes left');
      const added: number[] = [];
      for (const index of spares) {
        const done = await membershipStep(context, `add ${names[index]}`, async () => {
          await addAndPromote(cluster, index);
          context.members.add(index);
        });
        if (done) added.push(index);
      }
      log(
        `[${(now() / 1000).toFixed(1)} s] members: ${[...context.members].map((index) => names[index]).join(', ')}`,
      );
      await sleep(durationMs);
      // Drawn now, among who is there: the leader may have changed, and a spare may lead.
      const leaderNow = await findLeader(control, cluster);
      const followers = [...context.members]
        .filter((index) => index !== leaderNow)
        .sort((left, right) => left - right);
      const removed = context.removals
        .shuffle(followers)
        .slice(0, fault.removeLeader && leaderNow !== undefined ? 1 : GROW_SHRINK_MEMBERS);
      if (fault.removeLeader && leaderNow !== undefined) removed.push(leaderNow);
      // The window and the failover probe are about the members removed.
      targets = removed;
      startFailoverProbe();
      for (const index of removed) {
        await membershipStep(context, `remove ${names[index]}`, async () => {
          const notice = await removeRunningMember(cluster, index);
          if (notice !== undefined) context.notices.push(notice);
          context.members.delete(index);
        });
      }
      log(
        `[${(now() / 1000).toFixed(1)} s] grew by ${added.map((index) => names[index]).join('+')}, shrank by ${removed.map((index) => names[index]).join('+')}; members: ${[...context.members].map((index) => names[index]).join(', ')}`,
      );
      break;
    }
  }
  return {
    window: {
      ...window(targets),
      leaderLost,
      ...(fault.kind === 'partition' &&
      fault.shape.kind === 'isolate' &&
      !leaderLost &&
      leader !== undefined
        ? { followerMinorityIsolated: true }
        : {}),
    },
    ...(failover === undefined ? {} : { failover }),
  };
}

/**
 * Runs one membership change of a fault; a refusal or timeout is recorded as a failed change (the
 * membership-changes check) instead of ending the run.
 * @returns whether it completed.
 */
async function membershipStep(
  context: RunContext,
  what: string,
  step: () => Promise<void>,
): Promise<boolean> {
  try {
    await step();
    context.membership.completed += 1;
    context.log(`${what}: done`);
    return true;
  } catch (error) {
    context.membership.failures.push(`${what}: ${(error as Error).message}`);
    context.log(`${what}: failed: ${(error as Error).message}`);
    return false;
  }
}

/** A fault as applied, with its failover probe still running if it took the leader away. */
interface AppliedFault {
  readonly window: FaultWindow;
  readonly failover?: Promise<number | undefined>;
}

/**
 * Measures a failover: every 100 ms, a put to the next of the `spared` nodes (each with a short
 * timeout, so a request stuck on the lost leader does not hold the probe up). Resolves with
 * `now()` at the first success, or undefined at `untilMs`.
 */
async function probeFailover(
  probes: readonly EtcdJsonClient[],
  spared: readonly number[],
  now: () => number,
  untilMs: number,
): Promise<number | undefined> {
  if (spared.length === 0) return undefined;
  let succeededAt: number | undefined;
  const attempts: Promise<void>[] = [];
  for (let attempt = 0; succeededAt === undefined && now() < untilMs; attempt++) {
    const client = probes[spared[attempt % spared.length] as number] as EtcdJsonClient;
    attempts.push(
      client.put('chaos/failover-probe', String(attempt)).then(
        () => {
          succeededAt ??= now();
        },
        () => undefined,
      ),
    );
    await sleep(100);
  }
  await Promise.all(attempts);
  return succeededAt;
}

function linksOf(nodes: readonly number[], nodeCount: number): [number, number][] {
  const links: [number, number][] = [];
  for (const node of nodes) {
    for (let other = 0; other < nodeCount; other++) {
      if (other === node) continue;
      links.push([node, other], [other, node]);
    }
  }
  return links;
}

function setRules(
  proxy: LinkProxy,
  names: readonly string[],
  links: readonly [number, number][],
  rule: LinkRule,
): void {
  for (const [from, to] of links) proxy.setRule(names[from] as string, names[to] as string, rule);
}

/** The index of the node that leads (as the highest-generation leader claims), if any. */
async function findLeader(
  control: readonly EtcdJsonClient[],
  cluster: KvCluster,
): Promise<number | undefined> {
  const views = await Promise.all(
    control.map((client, index) =>
      cluster.isRunning(index) && !cluster.isPaused(index)
        ? client.cluster().then(
            (view) => ({ index, view }),
            () => undefined,
          )
        : Promise.resolve(undefined),
    ),
  );
  let best: { index: number; generation: number } | undefined;
  for (const entry of views) {
    if (entry?.view.role !== 'leader') continue;
    if (best === undefined || entry.view.generation > best.generation) {
      best = { index: entry.index, generation: entry.view.generation };
    }
  }
  return best?.index;
}

async function waitForLeader(
  control: readonly EtcdJsonClient[],
  cluster: KvCluster,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<number | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && signal?.aborted !== true) {
    // A node that exits while the cluster forms will not come back by itself: fail at once.
    if (cluster.unexpectedExits.length > 0) return undefined;
    const leader = await findLeader(control, cluster);
    if (leader !== undefined) {
      // A leader that cannot commit yet is no use: wait for a write to succeed.
      try {
        await (control[leader] as EtcdJsonClient).put('chaos/ready', 'yes');
        return leader;
      } catch {
        // Not yet.
      }
    }
    await sleep(200);
  }
  return undefined;
}

/**
 * Quorum mode's start: waits until every member sees every other reachable and a put succeeds.
 * Resolves with 0 (a node index, as {@link waitForLeader} does) or undefined after `timeoutMs`.
 */
async function waitForQuorumCluster(
  control: readonly EtcdJsonClient[],
  cluster: KvCluster,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<number | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && signal?.aborted !== true) {
    if (cluster.unexpectedExits.length > 0) return undefined;
    const views = await Promise.all(
      control.map((client) => client.cluster().catch(() => undefined)),
    );
    if (isQuorumClusterWhole(views)) {
      try {
        await (control[0] as EtcdJsonClient).put('chaos/ready', 'yes');
        return 0;
      } catch {
        // Not yet.
      }
    }
    await sleep(200);
  }
  return undefined;
}

/**
 * Waits until the cluster is whole again: every member (`members`, node indexes) runs (none paused), answers, and names the
 * same leader, which in turn has heard from every follower within the last second (when it
 * reports that). A restarted node passes only once it serves clients and has heard from the
 * leader. Resolves with the milliseconds waited, or undefined after `timeoutMs` or an abort.
 */
async function waitUntilRecovered(
  control: readonly EtcdJsonClient[],
  members: readonly number[],
  cluster: KvCluster,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  isWhole: (views: readonly (ClusterView | undefined)[]) => boolean,
): Promise<number | undefined> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs && signal?.aborted !== true) {
    const views = await Promise.all(
      members.map((index) =>
        cluster.isRunning(index) && !cluster.isPaused(index)
          ? (control[index] as EtcdJsonClient).cluster().catch(() => undefined)
          : Promise.resolve(undefined),
      ),
    );
    if (isWhole(views)) return performance.now() - start;
    await sleep(100);
  }
  return undefined;
}

/** Milliseconds until a put succeeds on some node, trying them in turn; undefined if none did. */
async function probeWrite(
  control: readonly EtcdJsonClient[],
  timeoutMs: number,
): Promise<number | undefined> {
  const start = performance.now();
  for (let attempt = 0; performance.now() - start < timeoutMs; attempt++) {
    const client = control[attempt % control.length] as EtcdJsonClient;
    try {
      await client.put('chaos/heal-probe', String(attempt));
      return performance.now() - start;
    } catch {
      await sleep(50);
    }
  }
  return undefined;
}

/**
 * Polls every node's whole state (serializable reads) until all are equal or the time is up;
 * returns the last reads.
 */
async function waitForConvergence(
  control: readonly EtcdJsonClient[],
  timeoutMs: number,
): Promise<(Awaited<ReturnType<EtcdJsonClient['rangeAll']>> | Error)[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(
      control.map((client) =>
        client
          .rangeAll()
          .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
      ),
    );
    const hashes = new Set(
      states.map((state) => (state instanceof Error ? 'error' : stateHash(state))),
    );
    if ((hashes.size === 1 && !hashes.has('error')) || performance.now() > deadline) return states;
    await sleep(250);
  }
}

/** A member's whole log file, or nothing if it has none. */
function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The last non-empty line of a log file, for an error message. */
function lastLogLine(path: string): string {
  try {
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    return (lines[lines.length - 1] ?? '').slice(0, 300);
  } catch {
    return 'no log';
  }
}
