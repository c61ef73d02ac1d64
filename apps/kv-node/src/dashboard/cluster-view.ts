/**
 * The JSON the dashboard streams to the page. The browser bundle imports these types too, so the
 * server and the page cannot disagree on a field name. Unknown values are `null` (JSON has no
 * `undefined`): a node that cannot be reached, or a figure only the leader knows.
 */

/**
 * A node's role as the dashboard shows it; `unreachable` when its status could not be read;
 * `quorum` for a member of a leaderless cluster (`--replication quorum`), where no node leads.
 */
export type DashboardRole =
  'leader' | 'follower' | 'candidate' | 'quorum' | 'unknown' | 'unreachable';

/** What a quorum-mode member reports of its replica (it has no log indexes, generation or leader). */
export interface QuorumMemberView {
  /** Keys held, tombstones included. */
  keys: number;
  /** Tombstones held: deleted keys not yet collected. */
  tombstones: number;
  /** The first 12 hex digits of the member's state hash: equal on members that converged. */
  stateHash: string;
  /**
   * The repair backlog: key buckets that differed from the peer in the member's last
   * anti-entropy round (0 once converged; `null` before its first round).
   */
  repairBacklog: number | null;
}

/** One node's row on the dashboard. */
export interface NodeView {
  /** Member name, e.g. `node-1`. */
  name: string;
  role: DashboardRole;
  /** The generation (Raft's term) the node is in. */
  generation: number | null;
  /** Index of the last entry in the node's log. */
  lastIndex: number | null;
  /** High-water mark (Raft's commit index): entries up to it are on a majority. */
  highWaterMark: number | null;
  /** Index of the node's latest snapshot: entries up to it are in a snapshot and may be gone from its log. */
  snapshotIndex: number | null;
  /** Index of the last entry applied to the node's key-value store. */
  appliedIndex: number | null;
  /** Entries the node's log is behind the leader's last index. */
  lagBehindLeader: number | null;
  /** Milliseconds since the leader last heard from the node (0 for the leader itself). */
  heartbeatAgeMs: number | null;
  /**
   * Whether the leader's failure detector (`--failure-detector`) does not count the node live
   * now; `null` for the leader itself and when no leader reports it.
   */
  suspectedByLeader: boolean | null;
  /** Where clients reach the node, if known. */
  clientUrl: string | null;
  /**
   * Present (true) only for a learner (etcd's `isLearner`): a member that receives the log but
   * neither votes nor counts for quorum until it is promoted.
   */
  learner?: true;
  /** Present only for a quorum-mode member that answered: its replica as it reports it. */
  quorum?: QuorumMemberView;
  /**
   * Quorum mode only (there is no leader): whether a peer that answered suspects the member
   * (its phi-accrual detector, or no agreement yet); null when no peer answered.
   */
  suspectedByPeers?: boolean | null;
}

/** One entry on the leader timeline: who leads from `atMs` on (`null`: nobody known). */
export interface LeaderChange {
  /** Wall-clock time of the observation, ms since the Unix epoch (read by humans only). */
  atMs: number;
  /** The new leader's name, or `null` when no node leads. */
  leader: string | null;
  /** The highest generation seen at the change. */
  generation: number | null;
}

/** One point of the write-throughput history. */
export interface ThroughputPoint {
  /** Wall-clock time, ms since the Unix epoch. */
  atMs: number;
  /** Entries committed per second (client writes plus one empty entry per election). */
  entriesPerSecond: number;
}

/** Everything the page shows, as of one sample of the cluster. */
export interface ClusterView {
  /** Wall-clock time of the sample, ms since the Unix epoch. */
  sampledAtMs: number;
  nodes: NodeView[];
  /** The node that leads now, if any. */
  leader: string | null;
  /** Leader changes, oldest first; bounded (the oldest are dropped). */
  leaderChanges: LeaderChange[];
  /** Committed entries per second over the recent window. */
  entriesPerSecond: number;
  /** Recent throughput, oldest first; bounded. */
  throughputHistory: ThroughputPoint[];
  /** Whether the page may offer the demo buttons (kill, restart, pause, resume, partition). */
  demo: boolean;
  /**
   * Whether the page may offer the member buttons (add, remove, replace): only on the dashboard
   * of `kv-node cluster`, whose launcher can start and stop member processes.
   */
  memberChanges: boolean;
  /** Faults injected from the page and not yet undone, by node name (demo mode only). */
  injectedFaults: Record<string, InjectedFault>;
}

/** A fault injected on a node from the page: until restart, resume or heal undoes it. */
export type InjectedFault = 'killed' | 'paused' | 'partitioned';

/** The demo actions on one node. */
export type NodeDemoAction = 'kill' | 'restart' | 'pause' | 'resume' | 'partition';

/** Every demo action: those on one node, and `heal` (ends every partition). */
export type DemoAction = NodeDemoAction | 'heal';

/** The actions, in the order the page shows them. */
export const NODE_DEMO_ACTIONS: readonly NodeDemoAction[] = [
  'kill',
  'restart',
  'pause',
  'resume',
  'partition',
];

/** The membership changes the page offers: `add`, and `remove` and `replace` of one member. */
export type MemberAction = 'add' | 'remove' | 'replace';

/**
 * The answer to a demo action request (`POST /ui/api/demo/{action}`), and to a member change
 * (`POST /ui/api/members/{action}`).
 */
export interface DemoActionResult {
  ok: boolean;
  /** What happened, or why the action failed; shown on the page. */
  message: string;
}
