import { parseArgs } from 'node:util';
import type { FaultKind } from './nemesis-schedule.js';
import {
  allFaultKinds,
  knownFaultKinds,
  membershipFaultKinds,
  quorumFaultKinds,
  safetyFaultKinds,
} from './nemesis-schedule.js';
import type { PoisonKind } from './poison-requests.js';
import { allPoisonKinds, defaultPoisonKinds } from './poison-requests.js';
import type { ChaosOptions } from './run-chaos.js';
import type { DetectorAbOptions } from './detector-ab.js';
import { isStateBackend, stateBackends } from './state-backend.js';

/** The usage text of the `chaos` command. */
export const usage = `Usage: chaos [options]
       chaos detector-ab [--kills-per-arm <n>] [--block-kills <n>] [--detectors <list>] [options]

Starts a kv-node cluster on loopback with every peer link through a fault-injecting proxy, runs
register and set workloads while a seeded nemesis kills, pauses and partitions nodes, heals,
and checks linearizability, durability and convergence. Exit 0: every check passed; 1: a check
failed; 2: bad usage; 3: the cluster could not be run.

  --nodes <n>               cluster size (default 3)
  --duration <seconds>      length of the faulty part (default 60)
  --fault-count <n>         apply exactly n faults, however long they take (--duration is
                            then ignored), e.g. 50 leader kills with --faults kill-leader
  --seed <n>                nemesis seed (default: random; printed, so a run can be repeated)
  --faults <kinds>          comma-separated: ${allFaultKinds.join(', ')}
                            (the default mix), and the safety faults
                            ${safetyFaultKinds.join(', ')} (disk-full needs root for
                            mount; link-tamper passes only with authenticated peer frames),
                            and the membership faults ${membershipFaultKinds.join(', ')}
                            (with --kv-node-arg=--snapshot-count=200, so new members catch
                            up by snapshot)
  --poison <kinds>          poison requests mixed into the workload: none, all, or
                            comma-separated: ${allPoisonKinds.join(', ')}
                            (default: all; leave out nested-txn against a kv-node
                            from before issue 23's admission fix: it runs out of memory)
  --poison-clients <n>      poison workers, one request every 200 ms each (default 1)
  --clients <n>             register workers (default 10; at most 6 share a key)
  --set-clients <n>         set workload workers (default 2)
  --request-timeout <ms>    client timeout; later answers count as unknown (default 3000)
  --heartbeat-interval <ms> passed to kv-node
  --election-timeout <ms>   passed to kv-node
  --kv-node-arg <flag>      extra kv-node flag for every node (repeatable), e.g. an unsafe
                            test-only option to show the checker catches it; a flag with a
                            value takes two: --kv-node-arg=--flag --kv-node-arg=value
                            (--node-arg is the same)
  --replication <mode>      leader (default) | quorum: kv-node's --replication quorum (no
                            leader; faults drawn from ${quorumFaultKinds.join(', ')}
                            unless --faults says otherwise; no watcher, no compare-and-set,
                            no poison unless --poison says otherwise)
  --backend <name>          kv-node's state backend: memory (kv-node's default) | lmdb
                            (an LMDB file in each data directory); leader mode only
  --consistency <level>     quorum mode: the register workload's level, linearizable
                            (default; its histories must be linearizable) | quorum | one
  --peer-routing <mode>     per-link (default: a proxy listener per directed link) |
                            shared (one per node; dialer found from its handshake) |
                            direct (no proxy: partition, delay and drop are skipped)
  --unsafe-serializable-reads
                            register reads are served locally (possibly stale) but checked
                            as linearizable: a run that must fail, to show the checker bites
  --kv-node <path>          kv-node's CLI (default: apps/kv-node/dist/cli.js)
  --results <dir>           parent folder of the run's results (default: results)
  --keep-data               keep node data directories after a passing run
  --json                    print the result as JSON on stdout instead of the table
  --help                    this text

detector-ab compares kv-node's failure detectors in one invocation: blocks of leader kills
(kill -9 the leader, restart it after 1-3 s, wait for recovery, repeat), one fresh cluster per
block and arm, every member started with --failure-detector <arm>, the arms alternating block
by block (ABBA) so both see the same machine load. It prints failover p50/p99 and false
suspicions (elections no kill explains) per arm. Exit 0 when every run passed its checks.

  --kills-per-arm <n>       measured failovers each arm needs at least (default 50)
  --block-kills <n>         leader kills per block (default 10)
  --detectors <list>        the arms, comma-separated: fixed, phi (default fixed,phi)
`;

/** What the command line asked for. */
export type ParsedCommandLine =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'run';
      readonly options: Omit<ChaosOptions, 'log' | 'signal' | 'seed'> & { readonly seed?: number };
      readonly json: boolean;
    };

function positiveInteger(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new UsageError(`--${flag}: "${text}" is not a non-negative integer`);
  }
  return value;
}

/** A command line the `chaos` command cannot run; the message names the flag. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Parses the `chaos` command line.
 * @throws UsageError naming the bad flag.
 */
export function parseCommandLine(
  args: readonly string[],
  defaultKvNodeCli: string,
): ParsedCommandLine {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        nodes: { type: 'string' },
        duration: { type: 'string' },
        'fault-count': { type: 'string' },
        seed: { type: 'string' },
        faults: { type: 'string' },
        clients: { type: 'string' },
        'set-clients': { type: 'string' },
        poison: { type: 'string' },
        'poison-clients': { type: 'string' },
        'request-timeout': { type: 'string' },
        'heartbeat-interval': { type: 'string' },
        'election-timeout': { type: 'string' },
        'node-arg': { type: 'string', multiple: true },
        'kv-node-arg': { type: 'string', multiple: true },
        'peer-routing': { type: 'string' },
        replication: { type: 'string' },
        consistency: { type: 'string' },
        backend: { type: 'string' },
        'kv-node': { type: 'string' },
        results: { type: 'string' },
        'keep-data': { type: 'boolean' },
        'unsafe-serializable-reads': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values;
  if (values.help === true) return { kind: 'help' };
  const nodeCount = positiveInteger('nodes', values.nodes, 3);
  if (nodeCount < 3 || nodeCount > 9) throw new UsageError('--nodes: must be 3 to 9');
  const kinds =
    values.faults === undefined
      ? undefined
      : values.faults.split(',').map((kind) => {
          const trimmed = kind.trim() as FaultKind;
          if (!knownFaultKinds.includes(trimmed)) {
            throw new UsageError(
              `--faults: unknown kind "${kind}" (known: ${knownFaultKinds.join(', ')})`,
            );
          }
          return trimmed;
        });
  const replication = values.replication ?? 'leader';
  if (replication !== 'leader' && replication !== 'quorum') {
    throw new UsageError(`--replication: "${replication}" is not leader or quorum`);
  }
  const consistency = values.consistency;
  if (
    consistency !== undefined &&
    consistency !== 'one' &&
    consistency !== 'quorum' &&
    consistency !== 'linearizable'
  ) {
    throw new UsageError(`--consistency: "${consistency}" is not one, quorum or linearizable`);
  }
  if (consistency !== undefined && replication !== 'quorum') {
    throw new UsageError('--consistency: only with --replication quorum');
  }
  const backend = values.backend;
  if (backend !== undefined && !isStateBackend(backend)) {
    throw new UsageError(`--backend: "${backend}" is not ${stateBackends.join(' or ')}`);
  }
  if (backend === 'lmdb' && replication === 'quorum') {
    throw new UsageError('--backend lmdb: quorum mode has no state store to put on it');
  }
  // Poison requests expect leader mode's answers (a txn is 501 in quorum mode).
  const poisonKinds =
    values.poison === undefined && replication === 'quorum' ? [] : parsePoisonKinds(values.poison);
  const routing = values['peer-routing'] ?? 'per-link';
  if (routing !== 'shared' && routing !== 'per-link' && routing !== 'direct') {
    throw new UsageError(`--peer-routing: "${routing}" is not shared, per-link or direct`);
  }
  const optional = (flag: 'heartbeat-interval' | 'election-timeout'): number | undefined =>
    values[flag] === undefined ? undefined : positiveInteger(flag, values[flag], 0);
  const faultCount =
    values['fault-count'] === undefined
      ? undefined
      : positiveInteger('fault-count', values['fault-count'], 0);
  if (faultCount === 0) throw new UsageError('--fault-count: must be at least 1');
  const heartbeatIntervalMs = optional('heartbeat-interval');
  const electionTimeoutMs = optional('election-timeout');
  return {
    kind: 'run',
    json: values.json === true,
    options: {
      kvNodeCli: values['kv-node'] ?? defaultKvNodeCli,
      nodeCount,
      durationMs: positiveInteger('duration', values.duration, 60) * 1000,
      ...(values.seed === undefined ? {} : { seed: positiveInteger('seed', values.seed, 0) }),
      ...(kinds === undefined ? {} : { kinds }),
      ...(faultCount === undefined ? {} : { faultCount }),
      resultsDirectory: values.results ?? 'results',
      registerWorkers: positiveInteger('clients', values.clients, 10),
      setWorkers: positiveInteger('set-clients', values['set-clients'], 2),
      poisonKinds,
      poisonWorkers: positiveInteger('poison-clients', values['poison-clients'], 1),
      requestTimeoutMs: positiveInteger('request-timeout', values['request-timeout'], 3000),
      ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
      ...(electionTimeoutMs === undefined ? {} : { electionTimeoutMs }),
      extraNodeArgs: [...(values['node-arg'] ?? []), ...(values['kv-node-arg'] ?? [])],
      peerRouting: routing,
      ...(replication === 'quorum' ? { replication } : {}),
      ...(consistency === undefined ? {} : { consistency }),
      ...(backend === undefined ? {} : { backend }),
      keepData: values['keep-data'] === true,
      ...(values['unsafe-serializable-reads'] === true ? { unsafeSerializableReads: true } : {}),
    },
  };
}

/** The `--poison` list: none, all, or named kinds (default: {@link defaultPoisonKinds}). */
function parsePoisonKinds(text: string | undefined): readonly PoisonKind[] {
  if (text === undefined) return defaultPoisonKinds;
  if (text.trim() === 'none') return [];
  if (text.trim() === 'all') return allPoisonKinds;
  return text.split(',').map((kind) => {
    const trimmed = kind.trim() as PoisonKind;
    if (!allPoisonKinds.includes(trimmed)) {
      throw new UsageError(
        `--poison: unknown kind "${kind}" (known: none, all, ${allPoisonKinds.join(', ')})`,
      );
    }
    return trimmed;
  });
}

/** What the `chaos detector-ab` command line asked for. */
export type ParsedDetectorAbCommandLine =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'detector-ab';
      readonly options: Omit<DetectorAbOptions, 'seed' | 'log' | 'signal'> & {
        readonly seed?: number;
      };
    };

const detectorAbFlags = ['kills-per-arm', 'block-kills', 'detectors'] as const;

/**
 * Parses `chaos detector-ab`'s arguments (after the word itself): its own flags, then every
 * `chaos` flag but those that choose the faults (`--faults`, `--fault-count`) and `--json`.
 * @throws UsageError naming the bad flag.
 */
export function parseDetectorAbCommandLine(
  args: readonly string[],
  defaultKvNodeCli: string,
): ParsedDetectorAbCommandLine {
  const own = new Map<string, string>();
  const rest: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const argument = args[index] as string;
    const flag = detectorAbFlags.find(
      (name) => argument === `--${name}` || argument.startsWith(`--${name}=`),
    );
    if (flag === undefined) {
      rest.push(argument);
      continue;
    }
    const value = argument.includes('=')
      ? argument.slice(argument.indexOf('=') + 1)
      : args[++index];
    if (value === undefined) throw new UsageError(`--${flag}: needs a value`);
    own.set(flag, value);
  }
  for (const refused of ['--faults', '--fault-count', '--json']) {
    if (rest.some((argument) => argument === refused || argument.startsWith(`${refused}=`))) {
      throw new UsageError(`${refused}: not for detector-ab (it runs leader kills only)`);
    }
  }
  const parsed = parseCommandLine(rest, defaultKvNodeCli);
  if (parsed.kind === 'help') return parsed;
  const killsPerArm = positiveInteger('kills-per-arm', own.get('kills-per-arm'), 50);
  const blockKills = positiveInteger('block-kills', own.get('block-kills'), 10);
  if (killsPerArm === 0) throw new UsageError('--kills-per-arm: must be at least 1');
  if (blockKills === 0) throw new UsageError('--block-kills: must be at least 1');
  const detectors = (own.get('detectors') ?? 'fixed,phi').split(',').map((name) => {
    const trimmed = name.trim();
    if (trimmed !== 'fixed' && trimmed !== 'phi') {
      throw new UsageError(`--detectors: unknown detector "${name}" (known: fixed, phi)`);
    }
    return trimmed;
  });
  const { seed, ...base } = parsed.options;
  return {
    kind: 'detector-ab',
    options: {
      base,
      ...(seed === undefined ? {} : { seed }),
      detectors,
      killsPerArm,
      blockKills,
    },
  };
}
