import type { CoreStatus, EntriesToLoad, Ready } from './core-types.js';
import {
  ConfigurationChangeRefusedError,
  NodeStoppedError,
  NotLeaderError,
  ProposalTooLargeError,
} from './errors.js';
import type { ClusterConfiguration, ConfigurationChange } from './cluster-configuration.js';
import { LeaderFollowerCore } from './leader-follower-core.js';
import { commandBytesOf, isHollowEntry } from './log-entry.js';
import type { LogEntry } from './log-entry.js';
import { MemberRecords } from './member-records.js';
import { LeadershipLog } from './leadership-log.js';
import { decodeMessage } from './message-codec.js';
import type { NodeId } from './messages.js';
import type { LeaderFollowerNodeOptions, NodeStatus } from './node-options.js';
import type { NodeStorage } from './node-storage.js';
import { coreOptionsOf, settingsOf, type NodeSettings } from './node-settings.js';
import { recoverNode, type RecoveredNode } from './node-recovery.js';
import { ReadyCompletions } from './ready-completions.js';
import { persistReady, type ReadyPersistenceDeps } from './ready-persistence.js';
import { announceFailStop, logFailStop } from './fail-stop.js';
import { PeerMessages } from './peer-messages.js';
import { PendingWorkAdmission } from './pending-work-limits.js';
import { ProposalWaiters } from './proposal-waiters.js';
import { ReadWaiters } from './read-waiters.js';
import { SnapshotSchedule } from './snapshot-schedule.js';
import { TickSchedule } from './tick-schedule.js';

export type { LeaderFollowerNodeOptions, NodeFollowerStatus, NodeStatus } from './node-options.js';
export type { Clock, Logger, NodeObserver, StateMachine, Timers, Transport } from './node-ports.js';

/** A Ready handed to storage, waiting in {@link LeaderFollowerNode}'s durability FIFO. */
interface PersistedReady {
  readonly ready: Ready;
  /** Its committed entries wait for its durability (see `mayApplyNow`). */
  readonly applyDeferred: boolean;
  /** When its entries went to the log, if an observer times log syncs. */
  readonly syncStartedAt: number | undefined;
}

/**
 * A replicated-log server: binds the deterministic {@link LeaderFollowerCore} to a
 * {@link NodeStorage} (by default a `FileNodeStorage`: write-ahead log with group commit,
 * generation file, snapshot file), a transport, timers and a state machine. It is the Ready loop
 * (DESIGN.md §5) plus the clients waiting for their proposals and reads.
 */
export class LeaderFollowerNode {
  private readonly core: LeaderFollowerCore;
  private readonly settings: NodeSettings;
  private readonly proposals: ProposalWaiters;
  private readonly reads: ReadWaiters;
  private readonly memberRecords: MemberRecords;
  private readonly ticks: TickSchedule;
  private readonly admission: PendingWorkAdmission;
  private readonly peers: PeerMessages;
  private readonly snapshots: SnapshotSchedule;
  private readonly leadership: LeadershipLog;
  private readonly persistence: ReadyPersistenceDeps;
  /** Readies handed to storage, acted on once durable, in Ready order. */
  private readonly durability: ReadyCompletions<PersistedReady>;
  private appliedIndex: number;
  /** Readies whose applies wait for their storage work; later applies must wait too (log order). */
  private deferredApplies = 0;
  private flushScheduled = false;
  private started = false;
  private stopped: Error | undefined;
  private lastLeaderContact: number;
  /** The error the node failed stop with (not set by `close`). */
  private failedWith: Error | undefined;

  private constructor(
    private readonly options: LeaderFollowerNodeOptions,
    private readonly storage: NodeStorage,
    recovered: RecoveredNode,
  ) {
    const settings = settingsOf(options);
    this.settings = settings;
    this.appliedIndex = recovered.appliedIndex;
    this.lastLeaderContact = options.clock.now();
    this.core = new LeaderFollowerCore(coreOptionsOf(options, recovered));
    const fail = (error: unknown): void => this.fail(error);
    const stopped = (): boolean => this.stopped !== undefined;
    const { logger, observer, timers } = { ...settings, timers: options.timers };
    const loaded = (load: EntriesToLoad, entries: readonly LogEntry[] | undefined): void => {
      this.core.entriesLoaded(load, entries);
      this.scheduleFlush();
    };
    const { transport, stateMachine, clock } = options;
    this.peers = new PeerMessages({
      transport,
      storage,
      logger,
      stopped,
      entriesLoaded: loaded,
      fail,
    });
    this.persistence = { storage, stateMachine, logger, stopped };
    this.durability = new ReadyCompletions((persisted) => this.readyDurable(persisted), fail);
    const snapshotDeps = { core: this.core, storage, stateMachine, settings, stopped, fail };
    this.snapshots = new SnapshotSchedule(
      recovered.snapshot?.metadata.index ?? 0,
      snapshotDeps,
      appliedBytesAfterSnapshot(recovered),
    );
    this.leadership = new LeadershipLog(options.id, logger, observer);
    this.admission = new PendingWorkAdmission(settings.pendingWork);
    this.proposals = new ProposalWaiters(clock, timers, settings.proposalTimeoutMs, (index) =>
      logger.info({ index }, 'proposal outcome indeterminate'),
    );
    this.reads = new ReadWaiters(timers, settings.readTimeoutMs, this.appliedIndex);
    const everyEntries = settings.recordAcknowledgedEveryEntries;
    this.memberRecords = new MemberRecords(storage, logger, observer, everyEntries, fail);
    this.ticks = new TickSchedule(clock, timers, settings.tickMs, () => {
      this.core.tick();
      if (this.core.role === 'leader') this.lastLeaderContact = this.options.clock.now();
      this.flush();
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
  static open(options: LeaderFollowerNodeOptions): Promise<LeaderFollowerNode> {
    return recoverNode(
      options,
      (storage, recovered) => new LeaderFollowerNode(options, storage, recovered),
    );
  }

  /** Starts ticking and handling peer messages. */
  start(): void {
    if (this.started || this.stopped !== undefined) return;
    this.started = true;
    this.options.transport.onMessage((from, type, payload) => this.receive(from, type, payload));
    this.ticks.start();
  }

  /**
   * Replicates `command` and resolves with the state machine's result once it is applied here.
   * Rejects with {@link NotLeaderError}, {@link ProposalTooLargeError} or
   * `TooManyRequestsError` (definite, nothing was appended), `ProposalDroppedError` (definite: another leader's entry took its place) or
   * `IndeterminateOutcomeError` (timeout or stop: it may still be applied).
   */
  propose(command: Uint8Array): Promise<unknown> {
    if (this.stopped !== undefined) return Promise.reject(new NodeStoppedError('node stopped'));
    const { maxCommandBytes } = this.settings;
    if (command.length > maxCommandBytes) {
      return Promise.reject(new ProposalTooLargeError(command.length, maxCommandBytes));
    }
    if (this.core.role === 'leader') {
      const refusal = this.admission.refuseProposal(this.proposals.size, command.length);
      if (refusal !== undefined) return Promise.reject(refusal);
    }
    const result = this.core.propose(command);
    if (!result.accepted) {
      return Promise.reject(
        result.reason === 'not-leader'
          ? new NotLeaderError(result.leaderId)
          : new NotLeaderError(undefined, 'leadership-transfer'),
      );
    }
    this.admission.proposed(result.index, result.generation, command.length);
    this.scheduleFlush();
    return this.proposals.add(result.index, result.generation);
  }

  /**
   * Proposes one membership change (see `LeaderFollowerCore.proposeConfigurationChange`) and
   * resolves with the new configuration once its entry is committed and applied here. Rejects
   * with {@link NotLeaderError} or {@link ConfigurationChangeRefusedError} (definite: nothing was
   * appended), `ProposalDroppedError` (definite) or `IndeterminateOutcomeError` (timeout or stop:
   * the change may still take effect).
   */
  proposeConfigurationChange(change: ConfigurationChange): Promise<ClusterConfiguration> {
    if (this.stopped !== undefined) return Promise.reject(new NodeStoppedError('node stopped'));
    const result = this.core.proposeConfigurationChange(change);
    if (!result.accepted) {
      if (result.reason === 'not-leader')
        return Promise.reject(new NotLeaderError(result.leaderId));
      if (result.reason === 'leadership-transfer') {
        return Promise.reject(new NotLeaderError(undefined, 'leadership-transfer'));
      }
      return Promise.reject(
        new ConfigurationChangeRefusedError(result.reason, `etcdserver: ${result.detail}`),
      );
    }
    this.settings.logger.info(
      { index: result.index, change: change.kind, member: change.member },
      'configuration change proposed',
    );
    this.scheduleFlush();
    const { configuration } = result;
    return this.proposals.add(result.index, result.generation).then(() => configuration);
  }

  /** Index of the latest configuration entry in this node's log (0: none since its snapshot). */
  get configurationIndex(): number {
    return this.core.configurationIndex;
  }

  /** The configuration in force here (the latest in this node's log, committed or not). */
  get configuration(): ClusterConfiguration {
    return this.core.configuration;
  }

  /**
   * Resolves when the local state machine may serve a read, with the read's log index (the
   * high-water mark the read must observe; the state machine has applied at least that far).
   * `linearizable` (default): leadership was confirmed by a majority after this call and
   * everything committed before it is applied; rejects with {@link NotLeaderError} on a follower,
   * `NoQuorumError` when no majority answers in time, `TooManyRequestsError` at once
   * when too many reads wait. `serializable`: resolves at once on
   * any node with the applied index; the read may be stale.
   */
  readBarrier(consistency: 'linearizable' | 'serializable' = 'linearizable'): Promise<number> {
    if (this.stopped !== undefined) return Promise.reject(new NodeStoppedError('node stopped'));
    if (consistency === 'serializable') return Promise.resolve(this.appliedIndex);
    if (this.core.role !== 'leader') {
      return Promise.reject(new NotLeaderError(this.core.knownLeader));
    }
    const refusal = this.admission.refuseRead(this.reads.size);
    if (refusal !== undefined) return Promise.reject(refusal);
    const { requestId, served } = this.reads.add();
    this.core.readBarrier(requestId);
    this.scheduleFlush();
    return served;
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

  /** The high-water mark (Raft's commit index) as this node knows it. */
  get highWaterMark(): number {
    return this.core.highWaterMark;
  }

  /** Highest log index durable on this node. */
  get durableIndex(): number {
    return this.core.durableLogIndex;
  }

  /**
   * The low-water mark: the highest index released from the log (a snapshot covers it; the
   * entries retained after a snapshot keep it below the snapshot's index).
   */
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
        lastResponseAgeMs: follower.ticksSinceResponse * this.settings.tickMs,
      })),
      appliedIndex: this.appliedIndex,
      lastHeartbeatAgeMs: core.role === 'leader' ? 0 : Math.max(0, now - this.lastLeaderContact),
      pendingProposals: this.proposals.size,
      pendingReads: this.reads.size,
      uncommittedBytes: this.admission.uncommittedBytes,
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

  /** Stops timers, fails what is pending (proposals as indeterminate) and closes the storage. */
  async close(): Promise<void> {
    if (this.stopped === undefined) this.stop(new NodeStoppedError('node closed'));
    await this.storage.close();
  }

  /**
   * The error this node failed stop with (a storage error, a safety violation,
   * {@link MemberStorageLostError}), or undefined while it runs or after a plain `close`. A failed
   * node no longer acts in any role: a leader among them is deposed at once (it sends nothing).
   */
  get failure(): Error | undefined {
    return this.failedWith;
  }

  // ---------------------------------------------------------------------------------------------

  private receive(from: string, type: number, payload: Uint8Array): void {
    if (this.stopped !== undefined) return;
    let message;
    try {
      message = decodeMessage(type, payload);
    } catch (error) {
      this.settings.logger.warn(
        { from, type, error: String(error) },
        'dropped a malformed message',
      );
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

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Hands every Ready to storage, the network and the state machine, in order. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.stopped !== undefined) return;
    this.leadership.notice(this.core);
    try {
      while (this.core.hasReady()) {
        const ready = this.core.takeReady();
        this.memberRecords.noteMembers(ready);
        this.peers.sendAll(ready.messagesToSendNow);
        for (const chunk of ready.snapshotChunksToSend) this.peers.sendSnapshotChunk(chunk);
        for (const load of ready.entriesToLoad) this.peers.loadEntries(load);
        const applyNow = this.mayApplyNow(ready);
        const syncStartedAt =
          ready.entriesToPersist.length > 0 && this.settings.observer.logSynced !== undefined
            ? this.options.clock.now()
            : undefined;
        this.durability.track(
          { ready, applyDeferred: !applyNow, syncStartedAt },
          this.persist(ready),
        );
        if (applyNow) this.applyCommitted(ready);
        else this.deferredApplies++;
      }
    } catch (error) {
      this.fail(error);
    }
  }

  /** Hands the Ready's storage work to storage (see {@link persistReady}). */
  private persist(ready: Ready): Promise<void> {
    if (ready.hardState !== undefined) {
      this.memberRecords.hardStateChanged(this.core.acknowledgedIndex);
    }
    return persistReady(ready, this.persistence);
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
   * A Ready's storage work is durable, and that of every Ready before it: report the log sync,
   * act on durability, then apply what waited for it (all in Ready order, see ReadyCompletions).
   */
  private readyDurable({ ready, applyDeferred, syncStartedAt }: PersistedReady): void {
    try {
      if (syncStartedAt !== undefined) {
        const entryCount = ready.entriesToPersist.length;
        this.settings.observer.logSynced?.(entryCount, this.options.clock.now() - syncStartedAt);
      }
      this.afterPersist(ready);
      if (applyDeferred) {
        this.deferredApplies--;
        this.applyCommitted(ready);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * After the Ready is durable (and an installed snapshot restored): answer peers, report
   * durability, take the snapshot's index as applied.
   */
  private afterPersist(ready: Ready): void {
    if (this.stopped !== undefined) return;
    this.peers.sendAll(ready.messagesAfterPersist);
    const last = ready.entriesToPersist[ready.entriesToPersist.length - 1];
    if (last !== undefined) {
      this.core.persisted(last.index, last.generation);
      this.releasePayloads();
      this.memberRecords.acknowledged(this.core.acknowledgedIndex);
    }
    const snapshot = ready.snapshotToInstall;
    if (snapshot !== undefined) {
      this.appliedIndex = snapshot.index;
      this.snapshots.installed(snapshot);
      // Proposals covered by someone else's snapshot: we cannot tell whether they were applied.
      this.proposals.coveredBySnapshot(snapshot.index);
      this.core.applied(this.appliedIndex);
      this.reads.applied(this.appliedIndex);
      this.settings.observer.appliedThrough?.(this.appliedIndex);
    }
    if (this.core.hasReady()) this.scheduleFlush();
  }

  /** Applies a Ready's committed entries (in log order, durable here) and serves its reads. */
  private applyCommitted(ready: Ready): void {
    if (this.stopped !== undefined) return;
    for (const entry of ready.committedEntries) this.applyEntry(entry);
    if (ready.committedEntries.length > 0) {
      this.admission.committedThrough(this.core.highWaterMark);
      this.core.applied(this.appliedIndex);
      this.releasePayloads();
      this.settings.observer.appliedThrough?.(this.appliedIndex);
      this.memberRecords.acknowledged(this.core.acknowledgedIndex);
    }
    this.reads.permitted(ready.readsPermitted, this.appliedIndex);
    this.reads.refused(ready.readsRefused);
    this.reads.applied(this.appliedIndex);
    this.snapshots.maybeSnapshot(this.appliedIndex);
    if (ready.removedFromCluster) {
      // A committed configuration no longer lists this member: it must not vote or serve again.
      this.settings.logger.warn(
        { id: this.core.id, configuration: this.core.configuration },
        'removed from the cluster by a committed configuration change; stopping',
      );
      this.stop(new NodeStoppedError('removed from the cluster'));
      return;
    }
    if (this.core.hasReady()) this.scheduleFlush();
  }

  private applyEntry(entry: LogEntry): void {
    if (isHollowEntry(entry)) {
      // Payloads are dropped only once applied: applying an empty command instead would diverge.
      throw new Error(`entry ${entry.index} reached apply without its command bytes`);
    }
    let result: unknown;
    if (entry.kind === 'command') {
      const { stateMachine, clock } = this.options;
      const awaited = this.proposals.awaits(entry);
      const observer = this.settings.observer;
      if (observer.commandApplied === undefined) {
        result = stateMachine.apply(entry.index, entry.command, awaited);
      } else {
        const started = clock.now();
        result = stateMachine.apply(entry.index, entry.command, awaited);
        observer.commandApplied(entry.index, clock.now() - started);
      }
    }
    this.appliedIndex = entry.index;
    this.snapshots.applied(entry.command.length);
    this.proposals.applied(entry, result);
  }

  /**
   * The payload window: lets the core drop the command bytes of applied, durable entries beyond
   * the most recent `payloadCacheBytes`.
   */
  private releasePayloads(): void {
    this.core.releasePayloadsThrough(this.appliedIndex, this.settings.payloadCacheBytes);
  }

  /**
   * Fail-stop (DESIGN.md §6): after a storage error, a safety violation or a report that this
   * member's storage was replaced, nothing more is written (but that report), sent or answered.
   * Logged here, once.
   */
  private fail(error: unknown): void {
    if (this.stopped !== undefined) return;
    const { logger } = this.settings;
    logFailStop(logger, error);
    const failure = error instanceof Error ? error : new Error(String(error));
    this.failedWith = failure;
    this.stop(failure);
    const { storage } = this;
    announceFailStop(failure, error, { storage, logger, onFatalError: this.options.onFatalError });
  }

  private stop(reason: Error): void {
    this.stopped = reason;
    this.ticks.stop();
    this.proposals.rejectAll('node stopped with the proposal in flight');
    this.reads.rejectAll();
  }
}

/**
 * Command bytes of the recovered entries the state machine holds already (after the snapshot,
 * through the applied index): they count toward the next snapshot's byte bound.
 */
function appliedBytesAfterSnapshot(recovered: RecoveredNode): number {
  let bytes = 0;
  for (const entry of recovered.entries) {
    if (entry.index > recovered.appliedIndex) break;
    bytes += commandBytesOf(entry);
  }
  return bytes;
}
