/**
 * Starts this member's replica of the log: the peer transport (`@x/transport-tcp`), shared
 * between replication and leader forwarding, and `@x/leader-follower`'s node over `@x/wal`'s
 * Node file system, with real clock, timers and randomness, its hooks feeding kv-node's metrics.
 *
 * Data directory layout (DESIGN.md §6): `member.json` (cluster and member identity, see
 * data-directory.ts), `generation` (generation and vote), `snapshot` (the latest snapshot),
 * `log-<firstIndex>/` (the write-ahead log's segments).
 */

import { readFileSync } from 'node:fs';
import { TcpTransport, UnknownPeerError } from '@x/transport-tcp';
import type { PeerAddress, TlsOptions } from '@x/transport-tcp';
import {
  LeaderFollowerNode,
  MemberStateCorruptError,
  MemberStorageLostError,
} from '@x/leader-follower';
import { CorruptGenerationFileError } from '@x/generation-clock';
import { NodeFileSystem, WalCorruptionError } from '@x/wal';
import { RequestWaitingList } from '@x/high-water-mark';
import { KvStateMachine } from '../store/kv-state-machine.js';
import { openStateStore } from '../store/open-state-store.js';
import type { StateStore } from '../store/state-store.js';
import { txnReadAdmission } from './write-admission.js';
import { replicaTicks } from './replica-ticks.js';
import { LeaderFollowerReplica } from './local-replica.js';
import type { ReplicaRuntime, ReplicaStartOptions } from './replica-runtime.js';
import { LOST_DATA_RUNBOOK, StartupError } from './startup-error.js';
import { REPLACE_MEMBER_RUNBOOK } from './data-directory.js';
import { splitTransport } from './transport.js';
import { hexIdOf } from '../config/member-id.js';
import type { NodeConfig } from '../config/node-config.js';
import type { NodeMetrics } from '../metrics/node-metrics.js';
import { PeerProber, PROBE_MESSAGE_TYPE } from './peer-prober.js';
import { MEMBERSHIP_REQUEST_TYPE, MembershipService } from '../membership/membership-service.js';
import { dialUrlOf } from '../membership/member-directory.js';
import type { ListedMember, MemberDirectorySources } from '../membership/member-directory.js';
import { encodeInquiryAnswer, inquiryAnswerOf } from '../membership/cluster-inquiry.js';
import type { InquiredMember } from '../membership/cluster-inquiry.js';
import { askWhetherRemoved } from './join-cluster.js';
import { inquirySecretFor } from './peer-secret.js';
import type { ApplyOutcome } from '../store/kv-state-machine.js';

/** How often each member brings its transport peers in line with the membership in force. */
const MEMBERSHIP_UPKEEP_MS = 200;

/**
 * Entries kept in the log below a snapshot so that slightly lagging followers need no snapshot
 * (etcd keeps 5,000), at most one snapshot interval.
 */
const MAX_RETAINED_ENTRIES = 5000;

/** The payload window of the in-memory log: 8 MiB (about 5,000 entries of 1.5 KiB). */
const PAYLOAD_CACHE_BYTES = 8 * 1024 * 1024;

const clock = { now: (): number => performance.now() };

const timers = {
  setTimeout: (callback: () => void, delayMs: number): unknown => setTimeout(callback, delayMs),
  clearTimeout: (handle: unknown): void => clearTimeout(handle as NodeJS.Timeout),
};

function addressOf(url: string): PeerAddress {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port) };
}

function readPeerFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new StartupError(`--${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Starts this member's replica. @throws StartupError for a peer port in use or bad TLS files. */
export async function startReplica(options: ReplicaStartOptions): Promise<ReplicaRuntime> {
  const { config, logger, metrics } = options;
  const replicationId = options.replicationId ?? config.name;
  // A member added at run time: the cluster knows it by its member id, not its name.
  const added = replicationId !== config.name;
  const joinedMembers = options.joinedMembers;
  const tls = peerTlsOf(config);
  // Set once the transport has started (after the node is open, see below); the node sends and
  // registers its handler only from `start()`.
  const transportRef: { tcp?: TcpTransport } = {};
  let inboundHandler: ((from: string, type: number, payload: Uint8Array) => void) | undefined;
  // Set once the node is open; peers may ask before that (answered as an unknown request).
  const membershipRef: { service?: MembershipService } = {};
  // The replication protocol may send to a member before this member's upkeep has made it a
  // transport peer (the leader, right after it appended the change that adds it): it becomes one
  // on the spot. A member nobody can describe is not sent to (the transport may lose messages).
  const peerTransport = {
    send: (to: string, type: number, payload: Uint8Array): void => {
      const tcp = transportRef.tcp;
      if (tcp === undefined) return;
      try {
        tcp.send(to, type, payload);
      } catch (error) {
        if (!(error instanceof UnknownPeerError)) throw error;
        const address = membershipRef.service?.peerAddressOf(to);
        if (address === undefined) return;
        tcp.addPeer(to, address);
        tcp.send(to, type, payload);
      }
    },
    onMessage: (handler: (from: string, type: number, payload: Uint8Array) => void): void => {
      inboundHandler = handler;
      transportRef.tcp?.onMessage(handler);
    },
  };
  const { replication, node: nodeTransport } = splitTransport(peerTransport);
  const txnReadLimits = {
    maxKeys: config.limits.maxTxnReadKeys,
    maxBytes: config.limits.maxTxnReadBytes,
  };
  let stateStore: StateStore;
  try {
    stateStore = openStateStore(config.backend, config.dataDir);
  } catch (error) {
    throw new StartupError(`--backend ${config.backend}: ${(error as Error).message}`);
  }
  const machine = new KvStateMachine(undefined, {
    stateStore,
    txnReadLimits,
    onTxnRanges: (read, notRead) => {
      if (read > 0) metrics.txnRanges.inc({ outcome: 'read' }, read);
      if (notRead > 0) metrics.txnRanges.inc({ outcome: 'not_read' }, notRead);
    },
    // LMDB reuses the pages compaction frees but never shrinks its file: both figures matter.
    onCompacted: ({ revision, before, after }) =>
      logger.info(
        {
          revision,
          fileBytesBefore: before.fileBytes,
          fileBytesAfter: after.fileBytes,
          allocatedBytesAfter: after.allocatedBytes,
          inUseBytesBefore: before.inUseBytes,
          inUseBytesAfter: after.inUseBytes,
        },
        'compaction: state file size',
      ),
  });
  const appliedWaiters = new RequestWaitingList();
  let reportFailure: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => {
    reportFailure = resolve;
  });
  let node: LeaderFollowerNode;
  try {
    node = await LeaderFollowerNode.open({
      id: replicationId,
      // An added member starts as a learner and follows whichever leader reaches it; the
      // configuration it then receives (log or snapshot) replaces this guess.
      ...startingConfiguration(config, replicationId, added, joinedMembers),
      transport: replication,
      // Snapshots stream to and from disk in chunks: a million keys encode to about 120 MB,
      // which is never held whole.
      stateMachine: {
        // Only the proposer reads a write txn's ranges: a client waits there and nowhere else.
        apply: (index, command, awaited) => machine.apply(index, command, awaited),
        snapshot: () => machine.snapshotChunks(),
        restore: (snapshot, index) => machine.restore(snapshot, index),
        restoreChunks: (chunks, index) => machine.restoreChunks(chunks, index),
        // The LMDB backend's state reaches past the snapshot: only the log after it is replayed.
        durableAppliedIndex: () => machine.durableAppliedIndex(),
      },
      fileSystem: new NodeFileSystem(),
      dataDirectory: config.dataDir,
      clock,
      timers,
      random: { next: () => Math.random() },
      logger,
      observer: {
        logSynced: (_entries, durationMs) => {
          metrics.fsyncDuration.observe(durationMs / 1000);
          metrics.etcd.walFsyncDuration.observe(durationMs / 1000);
        },
        commandApplied: (_index, durationMs) => {
          metrics.applyDuration.observe(durationMs / 1000);
          metrics.etcd.backendCommitDuration.observe(durationMs / 1000);
        },
        appliedThrough: (index) => appliedWaiters.advanceTo(index),
        leaderChanged: (leader, generation) => {
          const leaderId =
            leader === undefined
              ? undefined
              : (membershipRef.service?.list().find((member) => member.replicationId === leader)
                  ?.id ?? config.members.find((member) => member.name === leader)?.id);
          logger.info(
            {
              leader: leader ?? null,
              leaderId: leaderId === undefined ? null : hexIdOf(leaderId),
              generation,
            },
            'leader changed',
          );
          if (leader !== undefined) metrics.leaderChanges.inc();
          metrics.hasLeader.set(leader === undefined ? 0 : 1);
        },
        // The node logs it (once, at error level); operators alert on the counter.
        lostAcknowledgedEntries: (member) => metrics.lostAcknowledgedEntries.inc({ member }),
      },
      // The node has logged the error already: only report it, so it is logged once.
      onFatalError: (error) => {
        reportFailure(withRunbook(error instanceof Error ? error : new Error(String(error))));
      },
      ...replicaTicks(config.heartbeatIntervalMs, config.electionTimeoutMs),
      failureDetector: config.failureDetector,
      snapshotEveryEntries: config.snapshotCount,
      // Bounds the log a restart reads in bytes too: large txns reach --snapshot-count slowly.
      snapshotEveryBytes:
        config.snapshotLogBytes === 0 ? Number.POSITIVE_INFINITY : config.snapshotLogBytes,
      // Command bytes of applied entries kept for followers a little behind (etcd keeps 5,000
      // entries); a follower further behind is caught up from the log on disk.
      payloadCacheBytes: PAYLOAD_CACHE_BYTES,
      retainEntriesAfterSnapshot: Math.min(MAX_RETAINED_ENTRIES, config.snapshotCount),
      // The HTTP layer enforces the request limits; this only guards the log against a bug.
      maxCommandBytes: 2 * config.limits.maxRequestBytes,
      maxPendingProposals: config.pendingWrites.maxProposals,
      maxUncommittedBytes: config.pendingWrites.maxUncommittedBytes,
    });
  } catch (error) {
    machine.close();
    if (error instanceof Error && namesLostData(error)) {
      throw new StartupError(`${error.message}; ${LOST_DATA_RUNBOOK}`);
    }
    throw error;
  }
  const startedNode = node;
  const directory: MemberDirectorySources = {
    configuration: () => startedNode.configuration,
    registry: machine.members,
    initialMembers: config.members,
    self: { replicationId, clientUrls: config.advertiseClientUrls },
  };
  // The transport starts once the node is open: a member with data then knows its peers by the
  // ids the cluster knows them by (its configuration and member registry), not by the names of
  // --initial-cluster, which an etcd member also ignores once it has data. A member added at run
  // time is known by its member id in hexadecimal, which no flag tells.
  const peers = transportPeersAtStart(directory, joinedMembers);
  let startedTcp: TcpTransport;
  try {
    startedTcp = await TcpTransport.start({
      nodeId: replicationId,
      clusterId: config.clusterId,
      secret: options.peerSecret,
      peers,
      listen: {
        host: config.listenPeerUrl.hostname.replace(/^\[|\]$/g, ''),
        port: Number(config.listenPeerUrl.port),
      },
      logger,
      // A member back from a crash or a healed partition should rejoin within about one election
      // timeout, not after the transport's default 5 s backoff: with a handful of peers on a LAN
      // retrying twice a second costs nothing.
      reconnect: { maxDelayMs: Math.min(5000, Math.max(100, config.electionTimeoutMs / 2)) },
      ...(tls === undefined ? {} : { tls }),
      // Members added later learn the cluster from any member (join-cluster.ts); a removed
      // member restarted with its old data learns that it was removed.
      answerInquiry: (inquirer) =>
        encodeInquiryAnswer(
          inquiryAnswerOf(
            config.clusterId,
            // Learners as they are: a joining member starts from the configuration in force.
            membershipRef.service?.listInForce() ?? [],
            membershipRef.service?.wasRemoved(inquirer) ?? false,
          ),
        ),
      inquirySecret: inquirySecretFor(config, () => options.peerSecret),
    });
  } catch (error) {
    await node.close();
    machine.close();
    const code = (error as NodeJS.ErrnoException).code;
    throw new StartupError(
      code === 'EADDRINUSE'
        ? `--listen-peer-urls: ${config.listenPeerUrl.origin} is already in use`
        : `--listen-peer-urls: cannot listen on ${config.listenPeerUrl.origin}: ${(error as Error).message}`,
    );
  }
  transportRef.tcp = startedTcp;
  if (inboundHandler !== undefined) startedTcp.onMessage(inboundHandler);
  startedTcp.onEvent((event) => {
    if (event.kind === 'integrity-failure') metrics.peerIntegrityFailures.inc({ peer: event.peer });
  });
  const prober = probePeers(startedTcp, config, metrics, (type, payload) => {
    const service = membershipRef.service;
    if (type !== MEMBERSHIP_REQUEST_TYPE || service === undefined) return undefined;
    return service.answerForwarded(payload);
  });
  const service = new MembershipService({
    node: startedNode,
    transport: startedTcp,
    directory,
    propose: (command): Promise<ApplyOutcome> => replica.propose(command),
    clusterToken: config.clusterToken,
    name: config.name,
    logger,
    forwardTimeoutMs: 4 * config.electionTimeoutMs,
    removalGraceMs: 2 * config.electionTimeoutMs,
    now: () => performance.now(),
  });
  membershipRef.service = service;
  // A removed member stops, which may take seconds (client connections drain): it closes its
  // peer port at once. Its peers refuse it, and it them, so every redial either way would log
  // a handshake rejection; a closed port is only a peer that is down.
  const leaveCluster = (): void => {
    clearInterval(upkeep);
    void startedTcp.close();
    reportFailure(new Error(removedMessage()));
  };
  const upkeep = setInterval(() => {
    if (removedFrom(startedNode, replicationId)) {
      leaveCluster();
      return;
    }
    service.reconcile();
  }, MEMBERSHIP_UPKEEP_MS);
  appliedWaiters.advanceTo(node.appliedThrough);
  metrics.hasLeader.set(0);
  node.start();
  if (joinedMembers === undefined) {
    // A member restarted after it was removed (while it was down, or its stop was missed) is
    // refused by every peer and would wait for ever: ask once whether the cluster retired it.
    void askWhetherRemoved({
      peers: Object.values(peers).filter((address) => address !== undefined),
      replicationId,
      secret: inquirySecretFor(config, () => options.peerSecret),
      ...(tls === undefined ? {} : { tls }),
      inquiryTimeoutMs: 2000,
    }).then((removed) => {
      if (removed) leaveCluster();
    });
  }
  const recovered = node.status();
  logger.info(
    {
      snapshotIndex: recovered.snapshotIndex,
      lastIndex: recovered.lastIndex,
      generation: node.generation,
    },
    'replica recovered',
  );
  if (config.unsafeLocalLinearizableReads) {
    logger.warn(
      { flag: '--unsafe-local-linearizable-reads' },
      'UNSAFE: the leader answers linearizable reads without confirming leadership with a quorum; ' +
        'reads may be stale after a leader change. For testing the linearizability checker only.',
    );
  }
  const replica = new LeaderFollowerReplica({
    node,
    snapshotChunks: () => machine.snapshotChunks(),
    diskUsage: () => machine.diskUsage(),
    store: machine.store,
    auth: machine.auth,
    leases: machine.leases,
    alarms: machine.alarms,
    appliedWaiters,
    name: replicationId,
    memberName: config.name,
    clusterId: config.clusterId,
    selfMemberId: config.memberId,
    // kv-node's own status shows a member added as a voter as the learner it still is.
    members: (): ListedMember[] => service.listInForce(),
    unsafeLocalLinearizableReads: config.unsafeLocalLinearizableReads,
    admission: txnReadAdmission(machine.store, txnReadLimits),
  });
  return {
    replica,
    nodeTransport,
    membership: service,
    failed,
    transferLeadership: () =>
      handOverLeadership(node, config.heartbeatIntervalMs, 2 * config.electionTimeoutMs),
    close: async () => {
      clearInterval(upkeep);
      prober.stop();
      await node.close();
      machine.close();
      await startedTcp.close();
    },
  };
}

const NO_BYTES = new Uint8Array(0);

function removedMessage(): string {
  return (
    'this member was removed from the cluster (a committed membership change no longer ' +
    'lists it): it stopped and must not be restarted with this data directory; to ' +
    `bring it back, add it as a new member with a new data directory (${REPLACE_MEMBER_RUNBOOK})`
  );
}

/**
 * The transport's peers when it starts: every member of the configuration in force but this
 * one, under the id it replicates under, where the member registry (or, for a joining member,
 * the member that answered its inquiry; for an initial member, --initial-cluster) says it
 * listens. The membership upkeep follows every later change.
 */
export function transportPeersAtStart(
  directory: MemberDirectorySources,
  joinedMembers: readonly InquiredMember[] | undefined,
): Record<string, PeerAddress | undefined> {
  const { voters, learners } = directory.configuration();
  const peers: Record<string, PeerAddress | undefined> = {};
  for (const replicationId of [...voters, ...learners]) {
    if (replicationId === directory.self.replicationId) continue;
    const url =
      joinedMembers?.find((member) => member.replicationId === replicationId)?.peerUrls[0] ??
      dialUrlOf(directory, replicationId);
    peers[replicationId] = url === undefined ? undefined : addressOf(url);
  }
  return peers;
}

/**
 * The configuration a node starts from when it has none on disk: `--initial-cluster` for an
 * initial member; what a member answered for a joining one (itself a learner); else a guess
 * (every listed member a voter, itself a learner) that the leader's log soon replaces.
 */
function startingConfiguration(
  config: NodeConfig,
  replicationId: string,
  added: boolean,
  joinedMembers: readonly InquiredMember[] | undefined,
): { members: string[]; learners?: string[] } {
  if (joinedMembers !== undefined) {
    return {
      // A voter's wiped disk restarted under its id is a learner here too: the leader then
      // refuses it as a member that forgot what it acknowledged.
      members: joinedMembers
        .filter((member) => !member.isLearner && member.replicationId !== replicationId)
        .map((member) => member.replicationId),
      learners: [
        ...new Set([
          ...joinedMembers.filter((member) => member.isLearner).map((m) => m.replicationId),
          replicationId,
        ]),
      ],
    };
  }
  return {
    members: config.members
      .map((member) => member.name)
      .filter((name) => !added || name !== config.name),
    ...(added ? { learners: [replicationId] } : {}),
  };
}

/** The peer transport's TLS files, read. @throws StartupError for a missing or unreadable file. */
export function peerTlsOf(config: NodeConfig): TlsOptions | undefined {
  if (config.peerTls === undefined) return undefined;
  if (config.peerTls.trustedCaFile === undefined) {
    throw new StartupError('--peer-trusted-ca-file: required for https:// peer URLs');
  }
  return {
    cert: readPeerFile('peer-cert-file', config.peerTls.certFile),
    key: readPeerFile('peer-key-file', config.peerTls.keyFile),
    ca: readPeerFile('peer-trusted-ca-file', config.peerTls.trustedCaFile),
  };
}

/**
 * etcd's peer series on the transport, labelled `To` with the peer's member id in hexadecimal as
 * etcd labels them: messages it could not deliver, and the round trips of a prober (started).
 */
function probePeers(
  tcp: TcpTransport,
  config: NodeConfig,
  metrics: NodeMetrics,
  answerOther: (type: number, payload: Uint8Array) => Promise<Uint8Array> | undefined,
): PeerProber {
  const hexIds = new Map(config.members.map((member) => [member.name, hexIdOf(member.id)]));
  const peers = config.members.map((member) => member.name).filter((name) => name !== config.name);
  for (const peer of peers) metrics.etcd.peerSentFailures.inc({ To: hexIds.get(peer) ?? peer }, 0);
  tcp.onUndelivered((peer, messages) =>
    metrics.etcd.peerSentFailures.inc({ To: hexIds.get(peer) ?? peer }, messages.length),
  );
  tcp.onRequest((_from, type, payload) => {
    if (type === PROBE_MESSAGE_TYPE) return { type: PROBE_MESSAGE_TYPE, payload: NO_BYTES };
    const answer = answerOther(type, payload);
    if (answer === undefined) throw new Error(`unknown peer request type ${type}`);
    return answer.then((bytes) => ({ type, payload: bytes }));
  });
  const prober = new PeerProber({
    peers,
    // A member removed at run time is no longer a transport peer: its probe fails like a lost one.
    probe: async (peer) => tcp.request(peer, PROBE_MESSAGE_TYPE, NO_BYTES),
    now: () => performance.now(),
    setInterval: (callback, intervalMs) => setInterval(callback, intervalMs),
    clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
    onRoundTrip: (peer, seconds) =>
      metrics.etcd.peerRoundTrip.observe({ To: hexIds.get(peer) ?? peer }, seconds),
  });
  prober.start();
  return prober;
}

/**
 * Whether `error` shows that this member's data no longer holds what it acknowledged: it must
 * not start (or go on) with it, and the operator needs the runbook.
 */
function namesLostData(error: Error): boolean {
  return (
    error instanceof MemberStorageLostError ||
    error instanceof WalCorruptionError ||
    error instanceof MemberStateCorruptError ||
    error instanceof CorruptGenerationFileError
  );
}

/** `error`, with the runbook appended to its message when it is about lost data. */
function withRunbook(error: Error): Error {
  return namesLostData(error) ? new StartupError(`${error.message}; ${LOST_DATA_RUNBOOK}`) : error;
}

/**
 * Hands leadership to the most caught-up follower; resolves once another member leads or
 * `giveUpMs` passed. A node that failed (a disk error) hands nothing over: it stopped sending at
 * once, so its followers elect another leader after their election timeout (fail-stop). The only
 * voter of its cluster has nobody to hand over to (asking would fail with "not the leader").
 */
async function handOverLeadership(
  node: LeaderFollowerNode,
  pollMs: number,
  giveUpMs: number,
): Promise<void> {
  if (node.role !== 'leader' || node.failure !== undefined) return;
  if (node.configuration.voters.length < 2) return;
  await node.transferLeadership();
  const deadline = clock.now() + giveUpMs;
  while (node.role === 'leader' && clock.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * Whether a committed configuration no longer lists this member: the node has stopped (it
 * reports `removedFromCluster` only through its log), and kv-node must stop too.
 */
function removedFrom(node: LeaderFollowerNode, replicationId: string): boolean {
  const { voters, learners } = node.configuration;
  return (
    node.configurationIndex > 0 &&
    node.configurationIndex <= node.appliedThrough &&
    !voters.includes(replicationId) &&
    !learners.includes(replicationId)
  );
}
