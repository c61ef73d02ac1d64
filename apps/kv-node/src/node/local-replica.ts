import type { StoreDiskUsage } from '../store/state-store.js';
import type { LeaderFollowerNode } from '@x/leader-follower';
import {
  IndeterminateOutcomeError,
  NoQuorumError,
  NodeStoppedError,
  NotLeaderError,
  ProposalDroppedError,
  ProposalTooLargeError,
  TooManyRequestsError,
} from '@x/leader-follower';
import { indeterminate, tooLarge, tooManyRequests, unavailable } from '../http/api-error.js';
import type {
  LeaderTransferStart,
  MemberStatus,
  NodeRole,
  ClusterStatus,
} from '../http/kv-backend.js';
import { AuthState } from '../auth/auth-state.js';
import { LeaseTable } from '../lease/lease-table.js';
import { AlarmTable } from '../store/maintenance-command.js';
import type { KvStore } from '../store/kv-store.js';
import type { ApplyOutcome } from '../store/kv-state-machine.js';
import type { RequestWaitingList } from '@x/high-water-mark';
import type { WriteAdmission } from './write-admission.js';

/**
 * This node's replica of the log as the rest of kv-node sees it: the leader proposes and
 * confirms reads here; followers only report who leads. Implemented over `@x/leader-follower`'s
 * {@link LeaderFollowerNode} by {@link LeaderFollowerReplica}.
 *
 * Failures reject with an `ApiError`: 503 (definite) when not leader or without quorum, 429
 * (definite, with `Retry-After`) when the node's bounds on pending work are reached, 504
 * (indeterminate) when the outcome of a proposal is unknown.
 */
export interface LocalReplica {
  /** The local store the state machine applies to. */
  readonly store: KvStore;
  /** The local auth state the state machine applies auth commands to. */
  readonly auth: AuthState;
  /** The local lease table the state machine applies lease commands to. */
  readonly leases: LeaseTable;
  /** The raised alarms the state machine applies alarm commands to. */
  readonly alarms: AlarmTable;
  /** Whether this node is the leader now. */
  isLeader(): boolean;
  /** Name of the member this node believes leads, if any. */
  leaderName(): string | undefined;
  /** Proposes an encoded command (leader only) and resolves with its outcome once applied. */
  propose(command: Uint8Array): Promise<ApplyOutcome>;
  /**
   * Confirms leadership with a quorum (leader only) and resolves with the log index a
   * linearizable read must wait for (the high-water mark when the read arrived).
   */
  readBarrier(): Promise<number>;
  /** Resolves once the local state machine has applied `index`. */
  waitForApplied(index: number): Promise<void>;
  /** This node's view of the cluster. */
  status(): ClusterStatus;
  /** Asks the leader to hand leadership to the member with id `toMemberId` (see KvBackend). */
  transferLeadership?(toMemberId: string): Promise<LeaderTransferStart>;
  /** The state machine's snapshot, chunk by chunk (see KvBackend). */
  snapshotChunks?(): Iterable<Uint8Array>;
  /** The durable state store's file size and use (see KvBackend). */
  diskUsage?(): StoreDiskUsage | undefined;
}

/** The part of {@link LeaderFollowerNode} the adapter calls (narrow, so tests can fake it). */
export type ReplicaNode = Pick<
  LeaderFollowerNode,
  | 'role'
  | 'leaderId'
  | 'highWaterMark'
  | 'propose'
  | 'readBarrier'
  | 'status'
  | 'transferLeadership'
>;

/** A member of the cluster as {@link LeaderFollowerReplica} reports it. */
export interface ReplicaMember {
  /** Its id in `@x/leader-follower` (default: `name`). */
  replicationId?: string;
  name: string;
  /** etcd-style member id (decimal string). */
  id: string;
  peerUrls: string[];
  clientUrls: string[];
  /** A learner (see `MemberStatus.isLearner`). */
  isLearner?: boolean;
}

/** Options of {@link LeaderFollowerReplica}. */
export interface LeaderFollowerReplicaOptions {
  node: ReplicaNode;
  store: KvStore;
  /** The state machine's auth state (default: a fresh, disabled one). */
  auth?: AuthState;
  /** The state machine's lease table (default: a fresh, empty one). */
  leases?: LeaseTable;
  /** The state machine's alarms (default: a fresh, empty table). */
  alarms?: AlarmTable;
  /**
   * Requests waiting for the local state machine to apply an index (the Request Waiting List
   * pattern, from `@x/high-water-mark`), advanced by the node's `appliedThrough` hook.
   */
  appliedWaiters: RequestWaitingList;
  /** This member's id in `@x/leader-follower` and on the transport (its name, or see `ReplicaMember`). */
  name: string;
  /**
   * This member's `--name`, which `/v1/cluster` shows (default `name`): a member added at run
   * time replicates under its member id in hexadecimal, which is no name for a human.
   */
  memberName?: string;
  clusterId: string;
  /** This member's etcd id, for when the members in force do not list it (yet, or any more). */
  selfMemberId?: string;
  /** The members, fixed or as the membership in force says now. */
  members: ReplicaMember[] | (() => ReplicaMember[]);
  /**
   * UNSAFE, tests only: the leader answers linearizable reads from local state without the
   * quorum round (DESIGN.md §5 rule 7 broken on purpose, so a deposed leader may serve stale
   * reads). Exists so the chaos tool can show that its linearizability checker notices.
   */
  unsafeLocalLinearizableReads: boolean;
  /**
   * Checks each command before this member, as leader, proposes it (see write-admission.ts);
   * throws an `ApiError` to refuse it before it enters the log.
   */
  admission?: WriteAdmission;
  /**
   * Runs `task` on the next turn of the event loop, once the current turn's I/O has been read
   * (default `setImmediate`); a simulation passes a timer of its virtual time.
   */
  nextTurn?: (task: () => void) => void;
  /** The state machine's snapshot, chunk by chunk, for `Maintenance.Snapshot`. */
  snapshotChunks?: () => Iterable<Uint8Array>;
  /** The durable state store's file size and use, for `Maintenance.Status`. */
  diskUsage?: () => StoreDiskUsage | undefined;
}

/**
 * kv-node's {@link LocalReplica} over a {@link LeaderFollowerNode}: maps the library's typed
 * errors to the HTTP API's errors (definite 503, indeterminate 504) and its status to
 * {@link ClusterStatus}.
 */
export class LeaderFollowerReplica implements LocalReplica {
  readonly #options: LeaderFollowerReplicaOptions;
  readonly #node: ReplicaNode;
  readonly #auth: AuthState;
  readonly #leases: LeaseTable;
  readonly #alarms: AlarmTable;
  /** The read barrier that reads arriving in this turn share, started at the end of the turn. */
  #turnBarrier: Promise<number> | undefined;

  /** @param options see {@link LeaderFollowerReplicaOptions}. */
  constructor(options: LeaderFollowerReplicaOptions) {
    this.#options = options;
    this.#node = options.node;
    this.#auth = options.auth ?? new AuthState();
    this.#leases = options.leases ?? new LeaseTable();
    this.#alarms = options.alarms ?? new AlarmTable();
  }

  /** The local store. */
  get store(): KvStore {
    return this.#options.store;
  }

  /** The local auth state. */
  get auth(): AuthState {
    return this.#auth;
  }

  /** The local lease table. */
  get leases(): LeaseTable {
    return this.#leases;
  }

  /** The local alarms. */
  get alarms(): AlarmTable {
    return this.#alarms;
  }

  /** Whether this member leads now. */
  isLeader(): boolean {
    return this.#node.role === 'leader';
  }

  /** Name of the member this one follows, if known. */
  leaderName(): string | undefined {
    return this.#node.leaderId;
  }

  /**
   * The state machine's snapshot, chunk by chunk.
   *
   * @throws Error if this replica was built without the state machine's snapshot.
   */
  snapshotChunks(): Iterable<Uint8Array> {
    if (this.#options.snapshotChunks === undefined) {
      throw new Error('this replica was given no state machine snapshot');
    }
    return this.#options.snapshotChunks();
  }

  /** The durable state store's file size and use; `undefined` in memory. */
  diskUsage(): StoreDiskUsage | undefined {
    return this.#options.diskUsage?.();
  }

  /**
   * Hands leadership to the member with id `toMemberId`: the core sends it every entry it lacks,
   * then tells it to campaign at once (see `@x/leader-follower`'s `transferLeadership`).
   */
  async transferLeadership(toMemberId: string): Promise<LeaderTransferStart> {
    if (this.#node.role !== 'leader') return 'not_leader';
    const target = [...this.#idByReplicationId()].find(([, id]) => id === toMemberId)?.[0];
    if (target === undefined) return 'bad_transferee';
    if (target === this.#options.name) return 'started';
    try {
      await this.#node.transferLeadership(target);
      return 'started';
    } catch (error) {
      if (error instanceof NotLeaderError) return 'not_leader';
      throw error;
    }
  }

  /**
   * Proposes a command; resolves with its outcome once it is committed and applied here. The
   * admission check runs first (when leading; otherwise the node refuses the proposal anyway).
   */
  async propose(command: Uint8Array): Promise<ApplyOutcome> {
    if (this.#options.admission !== undefined && this.#node.role === 'leader') {
      this.#options.admission(command);
    }
    let outcome: unknown;
    try {
      outcome = await this.#node.propose(command);
    } catch (error) {
      throw toApiError(error);
    }
    if (outcome === undefined) throw new Error('the state machine returned no outcome');
    return outcome as ApplyOutcome;
  }

  /**
   * Confirms leadership with a quorum; resolves with the index a read must wait for. Every read
   * barrier asked in one event-loop turn (local reads from many client sockets, and barriers
   * forwarded by followers) shares one quorum round, started once the turn's I/O is read: one
   * heartbeat per follower instead of one per read. The round starts after every read that
   * joins it arrived, so its index covers every write acknowledged before any of them.
   */
  readBarrier(): Promise<number> {
    if (this.#options.unsafeLocalLinearizableReads && this.#node.role === 'leader') {
      // Deliberately unsafe (see the option): no quorum round, so a deposed leader may answer.
      return Promise.resolve(this.#node.highWaterMark);
    }
    const nextTurn = this.#options.nextTurn ?? setImmediate;
    this.#turnBarrier ??= new Promise<void>((resolve) => nextTurn(resolve)).then(() => {
      // Reads from now on wait for the next round: this one may predate them.
      this.#turnBarrier = undefined;
      return this.#quorumReadBarrier();
    });
    return this.#turnBarrier;
  }

  async #quorumReadBarrier(): Promise<number> {
    try {
      return await this.#node.readBarrier('linearizable');
    } catch (error) {
      throw toApiError(error);
    }
  }

  /** Resolves once `index` is applied here. */
  waitForApplied(index: number): Promise<void> {
    const waiters = this.#options.appliedWaiters;
    return index <= waiters.reachedIndex ? Promise.resolve() : waiters.add(index);
  }

  #members(): ReplicaMember[] {
    const members = this.#options.members;
    return typeof members === 'function' ? members() : members;
  }

  #idByReplicationId(): Map<string, string> {
    return new Map(
      this.#members().map((member) => [member.replicationId ?? member.name, member.id]),
    );
  }

  /** This member's view of the cluster. */
  status(): ClusterStatus {
    const node = this.#node.status();
    const role: NodeRole =
      node.role === 'leader' ? 'leader' : node.role === 'follower' ? 'follower' : 'candidate';
    const followers = new Map(node.followers.map((follower) => [follower.id, follower]));
    const self = this.#options.name;
    const replicaMembers = this.#members();
    const idByReplicationId = new Map(
      replicaMembers.map((member) => [member.replicationId ?? member.name, member.id]),
    );
    const members: MemberStatus[] = replicaMembers.map((member) => {
      const replicationId = member.replicationId ?? member.name;
      const follower = followers.get(replicationId);
      const base: MemberStatus = {
        id: member.id,
        name: member.name,
        peerUrls: member.peerUrls,
        clientUrls: member.clientUrls,
        ...(member.isLearner === true ? { isLearner: true } : {}),
        role:
          replicationId === node.leaderId
            ? 'leader'
            : replicationId === self
              ? role
              : node.role === 'leader'
                ? 'follower'
                : 'unknown',
      };
      if (replicationId === self && node.role === 'leader') {
        return { ...base, matchIndex: node.durableIndex, lag: 0, lastContactAgoMs: 0 };
      }
      if (replicationId === node.leaderId && node.role !== 'leader') {
        // A follower's failure detector watches its leader only.
        return {
          ...base,
          suspected: node.leaderSuspected,
          ...(node.leaderPhi === undefined ? {} : { phi: node.leaderPhi }),
        };
      }
      if (follower === undefined) return base;
      return {
        ...base,
        matchIndex: follower.matchIndex,
        lag: follower.lag,
        lastContactAgoMs: follower.lastResponseAgeMs,
        // Not live: suspected, or not heard from since this leader was elected (a member that
        // was down through the election is never heard from, so the detector has nothing to
        // suspect yet). Exactly the followers check-quorum does not count.
        suspected: !follower.live,
        ...(follower.phi === undefined ? {} : { phi: follower.phi }),
      };
    });
    return {
      clusterId: this.#options.clusterId,
      memberId: idByReplicationId.get(self) ?? this.#options.selfMemberId ?? '0',
      name: this.#options.memberName ?? self,
      role,
      generation: node.generation,
      leaderId: node.leaderId === undefined ? undefined : idByReplicationId.get(node.leaderId),
      lastLogIndex: node.lastIndex,
      highWaterMark: node.highWaterMark,
      appliedIndex: node.appliedIndex,
      snapshotIndex: node.snapshotIndex,
      lowWaterMark: node.lowWaterMark,
      failureDetector: node.failureDetector,
      members,
    };
  }
}

/** Maps `@x/leader-follower`'s errors (DESIGN.md §5 rule 8) to the HTTP API's. */
export function toApiError(error: unknown): unknown {
  if (error instanceof NotLeaderError) {
    return error.reason === 'leadership-transfer'
      ? unavailable('etcdserver: leadership is being transferred')
      : unavailable('etcdserver: not leader', 'no_leader');
  }
  if (error instanceof NodeStoppedError) {
    return unavailable('this node is shutting down', 'shutting_down');
  }
  if (error instanceof ProposalDroppedError) {
    return unavailable('etcdserver: leadership changed; the write was not applied');
  }
  if (error instanceof NoQuorumError) {
    return unavailable('etcdserver: leadership not confirmed by a quorum in time', 'no_leader');
  }
  if (error instanceof ProposalTooLargeError) return tooLarge(error.message);
  if (error instanceof TooManyRequestsError) {
    return tooManyRequests(error.retryAfterMs / 1000);
  }
  if (error instanceof IndeterminateOutcomeError) return indeterminate(error.message);
  return error;
}
