import type { CoreStatus, Ready, SnapshotChunkToSend } from './core-types.js';
import {
  IndeterminateOutcomeError,
  MemberStorageLostError,
  NoQuorumError,
  NodeStoppedError,
  NotLeaderError,
  ProposalDroppedError,
  ProposalTooLargeError,
} from './errors.js';
import { FileNodeStorage } from './file-node-storage.js';
import { LeaderFollowerCore } from './leader-follower-core.js';
import { isHollowEntry } from './log-entry.js';
import type { LogEntry } from './log-entry.js';
import { decodeMessage, encodeMessage } from './message-codec.js';
import type { AppendRequest, Message, NodeId, OutboundMessage } from './messages.js';
import type { LeaderFollowerNodeOptions, NodeStatus } from './node-options.js';
import type { Logger, NodeObserver, StateMachine } from './node-ports.js';
import type { NodeStorage, RecoveredNodeState, SnapshotReader } from './node-storage.js';

export type { LeaderFollowerNodeOptions, NodeFollowerStatus, NodeStatus } from './node-options.js';
export type { Clock, Logger, NodeObserver, StateMachine, Timers, Transport } from './node-ports.js';

interface PendingProposal {
  readonly generation: number;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: unknown;
}

interface PendingRead {
  readonly resolve: (index: number) => void;
  readonly reject: (error: Error) => void;
  readonly timer: unknown;
  index: number;
}

const DEFAULT_PAYLOAD_CACHE_BYTES = 16 * 1024 * 1024;
const DEFAULT_RECORD_ACKNOWLEDGED_EVERY_ENTRIES = 1024;

const noObserver: NodeObserver = {};

const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * A replicated-log server: binds the deterministic {@link LeaderFollowerCore} to a
 * {@link NodeStorage} (by default a `FileNodeStorage`: write-ahead log with group commit,
 * generation file, snapshot file), a transport, timers and a state machine. It is the Ready loop
 * (DESIGN.md §5) plus the clients waiting for their proposals and reads.
 */
export class LeaderFollowerNode {
  private readonly core: LeaderFollowerCore;
  private readonly logger: Logger;
  private readonly observer: NodeObserver;
  private readonly tickMs: number;
  private readonly maxCommandBytes: number;
  private readonly proposalTimeoutMs: number;
  private readonly readTimeoutMs: number;
  private readonly snapshotEveryEntries: number;
  private readonly retainEntriesAfterSnapshot: number;
  private readonly payloadCacheBytes: number;
  private readonly proposals = new Map<number, PendingProposal>();
  /**
   * Per peer, messages waiting behind an append whose entries are being read back from the log
   * (a follower behind the payload window): the peer still gets its messages in order. Only
   * present while such a refill is pending, so the common path sends synchronously.
   */
  private readonly refillQueues = new Map<NodeId, OutboundMessage[]>();
  private readonly reads = new Map<number, PendingRead>();
  /** Permitted reads waiting for the state machine to reach their index, in index order. */
  private readsAwaitingApply: number[] = [];
  private nextReadId = 1;
  private appliedIndex: number;
  private snapshotIndex: number;
  private snapshotting = false;
  /** Readies whose applies wait for their storage work; later applies must wait too (log order). */
  private deferredApplies = 0;
  private tickTimer: unknown;
  /** When the next tick is due on the clock (ms); ticks keep to this schedule. */
  private nextTickAt = Number.NEGATIVE_INFINITY;
  private flushScheduled = false;
  private started = false;
  private stopped: Error | undefined;
  private lastLeaderContact: number;
  private lastRole: CoreStatus['role'] = 'follower';
  private lastLeader: NodeId | undefined;
  /** The error the node failed stop with (not set by `close`). */
  private failedWith: Error | undefined;
  private readonly recordAcknowledgedEveryEntries: number;
  /** The highest acknowledged index handed to storage to record. */
  private acknowledgedIndexRequested = 0;

  private constructor(
    private readonly options: LeaderFollowerNodeOptions,
    private readonly storage: NodeStorage,
    initial: RecoveredNodeState,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.observer = options.observer ?? noObserver;
    this.tickMs = options.tickMs ?? 100;
    this.maxCommandBytes = options.maxCommandBytes ?? 1024 * 1024;
    this.proposalTimeoutMs = options.proposalTimeoutMs ?? 5000;
    this.readTimeoutMs = options.readTimeoutMs ?? 5000;
    this.snapshotEveryEntries = options.snapshotEveryEntries ?? 10_000;
    this.retainEntriesAfterSnapshot = options.retainEntriesAfterSnapshot ?? 1000;
    this.payloadCacheBytes = options.payloadCacheBytes ?? DEFAULT_PAYLOAD_CACHE_BYTES;
    if (!(this.payloadCacheBytes >= 0)) {
      throw new RangeError(`payloadCacheBytes must be >= 0, got ${this.payloadCacheBytes}`);
    }
    this.appliedIndex = initial.snapshot?.metadata.index ?? 0;
    this.snapshotIndex = this.appliedIndex;
    this.lastLeaderContact = options.clock.now();
    this.recordAcknowledgedEveryEntries =
      options.recordAcknowledgedEveryEntries ?? DEFAULT_RECORD_ACKNOWLEDGED_EVERY_ENTRIES;
    this.core = new LeaderFollowerCore({
      storageId: initial.memberState.storageId,
      peerStorageIds: initial.memberState.peerStorageIds,
      id: options.id,
      members: options.members,
      random: options.random,
      hardState: initial.hardState,
      entries: initial.entries,
      ...(initial.snapshot === undefined ? {} : { snapshot: initial.snapshot.metadata }),
      advanceFirstElection: options.advanceFirstElection ?? true,
      ...(options.electionTimeoutTicks === undefined
        ? {}
        : { electionTimeoutTicks: options.electionTimeoutTicks }),
      ...(options.heartbeatIntervalTicks === undefined
        ? {}
        : { heartbeatIntervalTicks: options.heartbeatIntervalTicks }),
      ...(options.maxInflightAppends === undefined
        ? {}
        : { maxInflightAppends: options.maxInflightAppends }),
      ...(options.maxAppendBytes === undefined ? {} : { maxAppendBytes: options.maxAppendBytes }),
      ...(options.snapshotChunkBytes === undefined
        ? {}
        : { snapshotChunkBytes: options.snapshotChunkBytes }),
    });
  }

  /**
   * Opens the node's storage (`options.storage`, or a `FileNodeStorage` in
   * `options.dataDirectory`) and recovers: restores the state machine from the latest snapshot and
   * loads the log after it. Does not start ticking or receiving; call {@link start}.
   * @throws WalLockedError when another process holds the data directory; corruption errors from
   *   the log, the generation file or the snapshot file; {@link MemberStorageLostError} when the
   *   storage no longer holds what this member acknowledged (a forgetful member: its log
   *   directory is missing, its log ends before the index it recorded as acknowledged or does
   *   not continue its snapshot, or a peer reported its storage replaced in an earlier run).
   */
  static async open(options: LeaderFollowerNodeOptions): Promise<LeaderFollowerNode> {
    const storage = options.storage ?? defaultStorage(options);
    const recovered = await storage.recover();
    try {
      if (recovered.snapshot !== undefined) {
        await restoreStateMachine(
          options.stateMachine,
          recovered.snapshot,
          options.logger ?? silentLogger,
        );
      }
    } catch (error) {
      await storage.close().catch(() => undefined);
      throw error;
    } finally {
      // Only the metadata is kept: the bytes stay in storage.
      await recovered.snapshot?.close();
    }
    return new LeaderFollowerNode(options, storage, recovered);
  }

  /** Starts ticking and handling peer messages. */
  start(): void {
    if (this.started || this.stopped !== undefined) return;
    this.started = true;
    this.options.transport.onMessage((from, type, payload) => this.receive(from, type, payload));
    this.scheduleTick();
  }

  /**
   * Replicates `command` and resolves with the state machine's result once it is applied here.
   * Rejects with {@link NotLeaderError} or {@link ProposalTooLargeError} (definite, nothing was
   * appended), {@link ProposalDroppedError} (definite: another leader's entry took its place) or
   * {@link IndeterminateOutcomeError} (timeout or stop: it may still be applied).
   */
  propose(command: Uint8Array): Promise<unknown> {
    if (this.stopped !== undefined) return Promise.reject(new NodeStoppedError('node stopped'));
    if (command.length > this.maxCommandBytes) {
      return Promise.reject(new ProposalTooLargeError(command.length, this.maxCommandBytes));
    }
    const result = this.core.propose(command);
    if (!result.accepted) {
      return Promise.reject(
        result.reason === 'not-leader'
          ? new NotLeaderError(result.leaderId)
          : new NotLeaderError(undefined, 'leadership-transfer'),
      );
    }
    this.scheduleFlush();
    return new Promise<unknown>((resolve, reject) => {
      const timer = this.options.timers.setTimeout(() => {
        if (this.proposals.get(result.index)?.generation !== result.generation) return;
        this.proposals.delete(result.index);
        this.logger.info({ index: result.index }, 'proposal outcome indeterminate');
        reject(new IndeterminateOutcomeError(`proposal at ${result.index} timed out`));
      }, this.proposalTimeoutMs);
      const replaced = this.proposals.get(result.index);
      if (replaced !== undefined) {
        // Our earlier entry at this index was truncated here, but another server may still hold
        // it and a later leader could still commit it: its outcome is unknown.
        this.settleProposal(result.index, replaced);
        replaced.reject(new IndeterminateOutcomeError(`entry at ${result.index} was replaced`));
      }
      this.proposals.set(result.index, { generation: result.generation, resolve, reject, timer });
    });
  }

  /**
   * Resolves when the local state machine may serve a read, with the read's log index (the
   * high-water mark the read must observe; the state machine has applied at least that far).
   * `linearizable` (default): leadership was confirmed by a majority after this call and
   * everything committed before it is applied; rejects with {@link NotLeaderError} on a follower,
   * {@link NoQuorumError} when no majority answers in time. `serializable`: resolves at once on
   * any node with the applied index; the read may be stale.
   */
  readBarrier(consistency: 'linearizable' | 'serializable' = 'linearizable'): Promise<number> {
    if (this.stopped !== undefined) return Promise.reject(new NodeStoppedError('node stopped'));
    if (consistency === 'serializable') return Promise.resolve(this.appliedIndex);
    if (this.core.role !== 'leader') {
      return Promise.reject(new NotLeaderError(this.core.knownLeader));
    }
    const requestId = this.nextReadId++;
    const promise = new Promise<number>((resolve, reject) => {
      const timer = this.options.timers.setTimeout(() => {
        if (!this.reads.delete(requestId)) return;
        reject(new NoQuorumError('leadership not confirmed in time'));
      }, this.readTimeoutMs);
      this.reads.set(requestId, { resolve, reject, timer, index: -1 });
    });
    this.core.readIndex(requestId);
    this.scheduleFlush();
    return promise;
  }

  /** This node's role (cheap; {@link status} has everything). */
  get role(): CoreStatus['role'] {
    return this.core.role;
  }

  /** The leader this node knows of, if any (itself when leading). */
  get leaderId(): NodeId | undefined {
    return this.core.knownLeader;
  }

  /** The highest generation this node has seen. */
  get generation(): number {
    return this.core.currentGeneration;
  }

  /** The high-water mark (commit index) as this node knows it. */
  get highWaterMark(): number {
    return this.core.committedIndex;
  }

  /** Highest log index durable on this node. */
  get durableIndex(): number {
    return this.core.durableLogIndex;
  }

  /** Highest index covered by a snapshot and dropped from the log. */
  get lowWaterMark(): number {
    return this.core.lowWaterMark;
  }

  /** Highest index applied to the state machine. */
  get appliedThrough(): number {
    return this.appliedIndex;
  }

  /**
   * Bytes of command payload the in-memory log holds now: bounded by `payloadCacheBytes` plus
   * the entries not yet applied and durable.
   */
  get logPayloadBytes(): number {
    return this.core.logPayloadBytes;
  }

  /** Entries the in-memory log holds (those whose payload was dropped included). */
  get logEntryCount(): number {
    return this.core.logEntryCount;
  }

  /** Role, generation, leader, indexes, per-follower progress and heartbeat age. */
  status(): NodeStatus {
    const core = this.core.status();
    const now = this.options.clock.now();
    return {
      ...core,
      followers: core.followers.map((follower) => ({
        ...follower,
        lastResponseAgeMs: follower.ticksSinceResponse * this.tickMs,
      })),
      appliedIndex: this.appliedIndex,
      lastHeartbeatAgeMs: core.role === 'leader' ? 0 : Math.max(0, now - this.lastLeaderContact),
      pendingProposals: this.proposals.size,
    };
  }

  /**
   * Hands leadership to `to` (or the most caught-up follower). Resolves with the target once the
   * hand-over is started; proposals are refused while it runs.
   * @throws NotLeaderError when this node is not the leader; NodeStoppedError once it stopped (a
   *   failed leader has nothing to hand over: its followers elect another after a timeout).
   */
  transferLeadership(to?: NodeId): Promise<NodeId> {
    if (this.stopped !== undefined) return Promise.reject(new NodeStoppedError('node stopped'));
    const target = this.core.transferLeadership(to);
    if (target === undefined) return Promise.reject(new NotLeaderError(this.core.knownLeader));
    this.scheduleFlush();
    return Promise.resolve(target);
  }

  /** Stops timers, fails what is pending (proposals as indeterminate) and closes the log. */
  async close(): Promise<void> {
    if (this.stopped === undefined) this.stop(new NodeStoppedError('node closed'));
    await this.storage.close();
  }

  // ---------------------------------------------------------------------------------------------

  private receive(from: string, type: number, payload: Uint8Array): void {
    if (this.stopped !== undefined) return;
    let message;
    try {
      message = decodeMessage(type, payload);
    } catch (error) {
      this.logger.warn({ from, type, error: String(error) }, 'dropped a malformed message');
      return;
    }
    if (message === undefined) return;
    if (message.kind === 'append' || message.kind === 'heartbeat') {
      this.lastLeaderContact = this.options.clock.now();
    }
    try {
      this.core.step(from, message);
    } catch (error) {
      this.fail(error); // a safety violation: this server's state cannot be trusted
      return;
    }
    this.scheduleFlush();
  }

  private scheduleTick(): void {
    // Ticks keep to a fixed schedule so that timer lateness does not add up: with short ticks a
    // millisecond late on each would stretch every timeout by a tenth. A tick missed entirely (a
    // busy or paused process) is skipped, never replayed in a burst, so a process that wakes
    // hears its peers before its timeouts move on.
    const now = this.options.clock.now();
    const due = this.nextTickAt + this.tickMs;
    this.nextTickAt = due >= now ? due : now + this.tickMs;
    this.tickTimer = this.options.timers.setTimeout(() => {
      if (this.stopped !== undefined) return;
      this.core.tick();
      if (this.core.role === 'leader') this.lastLeaderContact = this.options.clock.now();
      this.flush();
      this.scheduleTick();
    }, this.nextTickAt - now);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Hands every Ready to storage, the network and the state machine, in order. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.stopped !== undefined) return;
    this.noticeRoleChange();
    try {
      while (this.core.hasReady()) {
        const ready = this.core.takeReady();
        this.noteMembers(ready);
        for (const outbound of ready.messagesToSendNow) this.send(outbound);
        for (const chunk of ready.snapshotChunksToSend) this.sendSnapshotChunk(chunk);
        const applyNow = this.mayApplyNow(ready);
        // Storage settles persist() calls in call order, so these run in Ready order.
        const durable = this.persist(ready);
        durable.then(() => this.afterPersist(ready)).catch((error: unknown) => this.fail(error));
        if (applyNow) {
          this.applyCommitted(ready);
        } else {
          this.deferredApplies++;
          durable
            .then(() => {
              this.deferredApplies--;
              this.applyCommitted(ready);
            })
            .catch((error: unknown) => this.fail(error));
        }
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private noticeRoleChange(): void {
    const leader = this.core.knownLeader;
    if (leader !== this.lastLeader) {
      this.lastLeader = leader;
      this.observer.leaderChanged?.(leader, this.core.currentGeneration);
    }
    const role = this.core.role;
    if (role === this.lastRole) return;
    const fields = { id: this.options.id, generation: this.core.status().generation };
    if (role === 'leader') this.logger.info(fields, 'leader elected');
    else if (this.lastRole === 'leader') this.logger.info(fields, 'stale leader stepped down');
    this.lastRole = role;
  }

  /**
   * Hands the Ready's storage work to storage; log writes are issued now, in order (group commit).
   * An installed snapshot is restored into the state machine inside the storage's install, so
   * nothing later is applied before it.
   */
  private persist(ready: Ready): Promise<void> {
    if (ready.hardState !== undefined) {
      // Every generation or vote change also records the acknowledged index (one write).
      this.recordMemberState({ acknowledgedIndex: this.core.acknowledgedIndex });
    }
    const install = ready.snapshotToInstall;
    const entries = ready.entriesToPersist;
    const started = entries.length > 0 ? this.options.clock.now() : 0;
    const durable = this.storage.persist({
      snapshotChunks: ready.snapshotChunksToStore,
      ...(install === undefined
        ? {}
        : {
            snapshotToInstall: {
              metadata: install,
              restore: async (snapshot: SnapshotReader) => {
                if (this.stopped !== undefined) return;
                await restoreStateMachine(this.options.stateMachine, snapshot, this.logger);
              },
            },
          }),
      ...(ready.hardState === undefined ? {} : { hardState: ready.hardState }),
      entries,
    });
    if (entries.length === 0 || this.observer.logSynced === undefined) return durable;
    return durable.then(() => {
      this.observer.logSynced?.(entries.length, this.options.clock.now() - started);
    });
  }

  /**
   * Reads a chunk of the durable snapshot and sends it. A request for a snapshot storage no
   * longer holds is dropped; the core moves the follower on to the newer snapshot.
   */
  private sendSnapshotChunk(chunk: SnapshotChunkToSend): void {
    this.storage
      .readSnapshotRange(chunk.snapshotIndex, chunk.offset, chunk.length)
      .then((data) => {
        if (this.stopped !== undefined || data === undefined) return;
        this.send({
          to: chunk.to,
          message: {
            kind: 'snapshot-chunk',
            generation: chunk.generation,
            snapshotIndex: chunk.snapshotIndex,
            snapshotGeneration: chunk.snapshotGeneration,
            offset: chunk.offset,
            totalBytes: chunk.totalBytes,
            data,
          },
        });
      })
      .catch((error: unknown) => this.fail(error));
  }

  /** Records a member-state change durably; a failure stops the node. */
  private recordMemberState(change: Parameters<NodeStorage['recordMemberState']>[0]): void {
    this.storage.recordMemberState(change).catch((error: unknown) => this.fail(error));
  }

  /** Records the acknowledged index once it moved `recordAcknowledgedEveryEntries` entries. */
  private maybeRecordAcknowledged(): void {
    const acknowledged = this.core.acknowledgedIndex;
    if (
      acknowledged - this.storage.memberState.acknowledgedIndex >=
        this.recordAcknowledgedEveryEntries &&
      acknowledged > this.acknowledgedIndexRequested
    ) {
      this.acknowledgedIndexRequested = acknowledged;
      this.recordMemberState({ acknowledgedIndex: acknowledged });
    }
  }

  /** Remembers peers' identities seen for the first time and reports forgetful followers. */
  private noteMembers(ready: Ready): void {
    if (ready.peerStorageIdsLearned.length > 0) {
      const learned = new Map<NodeId, string>();
      for (const { member, storageId } of ready.peerStorageIdsLearned) {
        learned.set(member, storageId);
        this.logger.info({ member, storageId }, 'peer storage identity recorded');
      }
      this.recordMemberState({ peerStorageIdsLearned: learned });
    }
    for (const lost of ready.lostAcknowledgedEntries) {
      this.logger.error(
        { ...lost },
        'follower lost acknowledged entries; it is not counted for quorum while this node leads',
      );
      this.observer.lostAcknowledgedEntries?.(lost.member, lost.acknowledgedIndex);
    }
  }

  /**
   * Whether a Ready's committed entries may be applied at once instead of after its persistence:
   * they are durable here already, it installs no snapshot and no earlier apply waits (applies
   * stay in log order; an install's restore runs inside its storage work). On a leader this is the
   * usual case, so commits are applied without waiting for the fsync of entries proposed since
   * (which would add an fsync of latency).
   */
  private mayApplyNow(ready: Ready): boolean {
    if (ready.snapshotToInstall !== undefined || this.deferredApplies > 0) return false;
    const last = ready.committedEntries[ready.committedEntries.length - 1];
    // The core's durable index, not the log's: it already excludes a suffix being replaced.
    return last === undefined || last.index <= this.core.durableLogIndex;
  }

  /**
   * After the Ready is durable (and an installed snapshot restored): answer peers, report
   * durability, take the snapshot's index as applied.
   */
  private afterPersist(ready: Ready): void {
    if (this.stopped !== undefined) return;
    for (const outbound of ready.messagesAfterPersist) this.send(outbound);
    const last = ready.entriesToPersist[ready.entriesToPersist.length - 1];
    if (last !== undefined) {
      this.core.persisted(last.index, last.generation);
      this.releasePayloads();
      this.maybeRecordAcknowledged();
    }
    const snapshot = ready.snapshotToInstall;
    if (snapshot !== undefined) {
      this.appliedIndex = snapshot.index;
      this.snapshotIndex = snapshot.index;
      this.logger.info({ index: snapshot.index }, 'snapshot installed from leader');
      this.observer.snapshotSaved?.(snapshot.index, snapshot.sizeBytes, 'installed');
      // Proposals covered by someone else's snapshot: we cannot tell whether they were applied.
      for (const [index, proposal] of this.proposals) {
        if (index > snapshot.index) continue;
        this.settleProposal(index, proposal);
        proposal.reject(new IndeterminateOutcomeError(`outcome at ${index} covered by a snapshot`));
      }
      this.core.applied(this.appliedIndex);
      this.observer.appliedThrough?.(this.appliedIndex);
    }
    if (this.core.hasReady()) this.scheduleFlush();
  }

  /** Applies a Ready's committed entries (in log order, durable here) and serves its reads. */
  private applyCommitted(ready: Ready): void {
    if (this.stopped !== undefined) return;
    for (const entry of ready.committedEntries) this.applyEntry(entry);
    if (ready.committedEntries.length > 0) {
      this.core.applied(this.appliedIndex);
      this.releasePayloads();
      this.observer.appliedThrough?.(this.appliedIndex);
      this.maybeRecordAcknowledged();
    }
    for (const permit of ready.readsPermitted) {
      const read = this.reads.get(permit.requestId);
      if (read === undefined) continue;
      read.index = permit.index;
      this.readsAwaitingApply.push(permit.requestId);
    }
    for (const refusal of ready.readsRefused) {
      const read = this.reads.get(refusal.requestId);
      if (read === undefined) continue;
      this.reads.delete(refusal.requestId);
      this.options.timers.clearTimeout(read.timer);
      read.reject(new NotLeaderError(refusal.leaderId));
    }
    this.serveReads();
    this.maybeSnapshot();
    if (this.core.hasReady()) this.scheduleFlush();
  }

  private applyEntry(entry: LogEntry): void {
    if (isHollowEntry(entry)) {
      // Payloads are dropped only once applied: applying an empty command instead would diverge.
      throw new Error(`entry ${entry.index} reached apply without its command bytes`);
    }
    let result: unknown;
    const proposal = this.proposals.get(entry.index);
    if (entry.kind === 'command') {
      const awaited = proposal !== undefined && proposal.generation === entry.generation;
      if (this.observer.commandApplied === undefined) {
        result = this.options.stateMachine.apply(entry.index, entry.command, awaited);
      } else {
        const started = this.options.clock.now();
        result = this.options.stateMachine.apply(entry.index, entry.command, awaited);
        this.observer.commandApplied(entry.index, this.options.clock.now() - started);
      }
    }
    this.appliedIndex = entry.index;
    if (proposal === undefined) return;
    this.settleProposal(entry.index, proposal);
    if (proposal.generation === entry.generation) proposal.resolve(result);
    else proposal.reject(new ProposalDroppedError(`slot ${entry.index} went to another leader`));
  }

  private settleProposal(index: number, proposal: PendingProposal): void {
    this.proposals.delete(index);
    this.options.timers.clearTimeout(proposal.timer);
  }

  private serveReads(): void {
    if (this.readsAwaitingApply.length === 0) return;
    const waiting: number[] = [];
    for (const requestId of this.readsAwaitingApply) {
      const read = this.reads.get(requestId);
      if (read === undefined) continue;
      if (read.index > this.appliedIndex) {
        waiting.push(requestId);
        continue;
      }
      this.reads.delete(requestId);
      this.options.timers.clearTimeout(read.timer);
      read.resolve(read.index);
    }
    this.readsAwaitingApply = waiting;
  }

  /** Low-water mark: snapshot once enough entries were applied, then release the log below it. */
  private maybeSnapshot(): void {
    if (this.snapshotting || this.appliedIndex - this.snapshotIndex < this.snapshotEveryEntries) {
      return;
    }
    const index = this.appliedIndex;
    const generation = this.core.generationAt(index);
    if (generation === undefined) return;
    const snapshot = { index, generation, data: this.options.stateMachine.snapshot() };
    this.snapshotting = true;
    void this.storage
      .saveSnapshot(snapshot)
      .then(async (metadata) => {
        this.snapshotting = false;
        if (this.stopped !== undefined) return;
        this.snapshotIndex = index;
        this.core.snapshotTaken(metadata, this.retainEntriesAfterSnapshot);
        this.logger.info({ index, bytes: metadata.sizeBytes }, 'snapshot taken');
        this.observer.snapshotSaved?.(index, metadata.sizeBytes, 'taken');
        await this.storage.releaseBelow(Math.max(1, index - this.retainEntriesAfterSnapshot));
      })
      .catch((error: unknown) => this.fail(error));
  }

  /**
   * The payload window: lets the core drop the command bytes of applied, durable entries beyond
   * the most recent `payloadCacheBytes`.
   */
  private releasePayloads(): void {
    this.core.releasePayloadsThrough(this.appliedIndex, this.payloadCacheBytes);
  }

  /**
   * Sends a message, in order per peer. An append carrying hollow entries (a follower behind the
   * payload window) is first refilled from the write-ahead log; later messages to that peer wait
   * in its refill queue meanwhile.
   */
  private send(outbound: OutboundMessage): void {
    const queue = this.refillQueues.get(outbound.to);
    if (queue !== undefined) {
      queue.push(outbound);
      return;
    }
    if (!carriesHollowEntries(outbound.message)) {
      this.sendEncoded(outbound);
      return;
    }
    this.refillQueues.set(outbound.to, [outbound]);
    this.drainRefillQueue(outbound.to).catch((error: unknown) => this.fail(error));
  }

  private sendEncoded(outbound: OutboundMessage): void {
    const { type, payload } = encodeMessage(outbound.message);
    this.options.transport.send(outbound.to, type, payload);
  }

  /** Sends a peer's queued messages in order, refilling hollow appends, then removes the queue. */
  private async drainRefillQueue(to: NodeId): Promise<void> {
    const queue = this.refillQueues.get(to);
    try {
      let outbound: OutboundMessage | undefined;
      while ((outbound = queue?.shift()) !== undefined) {
        if (this.stopped !== undefined) return;
        const message = outbound.message;
        if (message.kind !== 'append' || !carriesHollowEntries(message)) {
          this.sendEncoded(outbound);
          continue;
        }
        const filled = await this.refillAppend(message);
        if (this.stopped !== undefined) return;
        // No longer in the log: dropped, as a lossy network would; the leader retries or moves
        // the follower on to the snapshot.
        if (filled === undefined) {
          this.logger.debug({ to, prevIndex: message.prevIndex }, 'append dropped: not in the log');
          continue;
        }
        this.logger.debug({ to, prevIndex: message.prevIndex }, 'append refilled from the log');
        this.sendEncoded({ to, message: filled });
      }
    } finally {
      this.refillQueues.delete(to);
    }
  }

  /**
   * Reads the command bytes of an append's hollow entries back from the write-ahead log. Resolves
   * with the complete append, or undefined when the log no longer holds those entries (released
   * below a snapshot, truncated or replaced meanwhile). Rejects on an I/O or corruption error.
   */
  private async refillAppend(request: AppendRequest): Promise<AppendRequest | undefined> {
    const entries = request.entries;
    const first = entries.findIndex(isHollowEntry);
    const last = entries.findLastIndex(isHollowEntry);
    const from = entries[first]?.index ?? 0;
    const to = entries[last]?.index ?? 0;
    const stored = await this.storage.readEntries(from, to);
    if (stored === undefined || this.stopped !== undefined) return undefined;
    const filled = entries.slice();
    for (let position = first; position <= last; position++) {
      const entry = entries[position];
      if (entry === undefined || !isHollowEntry(entry)) continue;
      const record = stored[entry.index - from];
      if (record?.index !== entry.index || record.generation !== entry.generation) {
        return undefined;
      }
      if (record.command.length !== entry.hollowCommandBytes) {
        throw new Error(
          `entry ${entry.index} read back with ${record.command.length} bytes, expected ${entry.hollowCommandBytes}`,
        );
      }
      filled[position] = record;
    }
    return { ...request, entries: filled };
  }

  /**
   * Fail-stop (DESIGN.md §6): after a storage error, a safety violation or a report that this
   * member's storage was replaced, nothing more is written (but that report), sent or answered.
   * Logged here, once.
   */
  private fail(error: unknown): void {
    if (this.stopped !== undefined) return;
    const failure = error instanceof Error ? error : new Error(String(error));
    if (failure instanceof MemberStorageLostError) {
      this.logger.error(
        { error: failure.message, reportedBy: failure.reportedBy },
        'this member lost acknowledged state; stopping',
      );
    } else {
      this.logger.error({ error: String(error) }, 'storage failed; stopping');
    }
    this.failedWith = failure;
    this.stop(failure);
    if (failure instanceof MemberStorageLostError && failure.kind === 'reported-by-peer') {
      // Recorded before the owner is told (it may exit at once), so that no later start on this
      // storage votes or acknowledges either, even when no peer that remembers it is up.
      void this.storage
        .recordMemberState({ lostReportedBy: failure.reportedBy ?? '?' })
        .catch((saveError: unknown) => {
          this.logger.error({ error: String(saveError) }, 'could not record the lost storage');
        })
        .then(() => this.options.onFatalError?.(error));
      return;
    }
    this.options.onFatalError?.(error);
  }

  /**
   * The error this node failed stop with (a storage error, a safety violation,
   * {@link MemberStorageLostError}), or undefined while it runs or after a plain `close`. A failed
   * node no longer acts in any role: a leader among them is deposed at once (it sends nothing).
   */
  get failure(): Error | undefined {
    return this.failedWith;
  }

  private stop(reason: Error): void {
    this.stopped = reason;
    if (this.tickTimer !== undefined) this.options.timers.clearTimeout(this.tickTimer);
    for (const [index, proposal] of this.proposals) {
      this.options.timers.clearTimeout(proposal.timer);
      proposal.reject(new IndeterminateOutcomeError(`node stopped with ${index} in flight`));
    }
    this.proposals.clear();
    for (const read of this.reads.values()) {
      this.options.timers.clearTimeout(read.timer);
      read.reject(new NodeStoppedError('node stopped'));
    }
    this.reads.clear();
    this.readsAwaitingApply = [];
  }
}

function carriesHollowEntries(message: Message): boolean {
  return message.kind === 'append' && message.entries.some(isHollowEntry);
}

/**
 * Restores the state machine from a stored snapshot: streamed in chunks when it can take them,
 * else read whole. Either way the checksum has been verified when this resolves.
 */
async function restoreStateMachine(
  stateMachine: StateMachine,
  stored: SnapshotReader,
  logger: Logger,
): Promise<void> {
  const index = stored.metadata.index;
  if (stateMachine.restoreChunks === undefined) {
    stateMachine.restore(await stored.readAll(), index);
    return;
  }
  await stateMachine.restoreChunks(stored.chunks(), index);
  if (!stored.verified) {
    throw new Error(`the state machine did not read snapshot ${index} to its end`);
  }
  logger.debug({ index, bytes: stored.metadata.sizeBytes }, 'snapshot restored in chunks');
}

function defaultStorage(options: LeaderFollowerNodeOptions): NodeStorage {
  const { fileSystem, dataDirectory } = options;
  if (fileSystem === undefined || dataDirectory === undefined) {
    throw new TypeError('a node needs either storage or fileSystem and dataDirectory');
  }
  return new FileNodeStorage({
    id: options.id,
    fileSystem,
    dataDirectory,
    random: options.random,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.wal === undefined ? {} : { wal: options.wal }),
  });
}
