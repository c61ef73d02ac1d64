import { LeaderHighWaterMark } from '@x/high-water-mark';
import { majority, QuorumTracker } from '@x/quorum';
import type { CoreContext } from './core-context.js';
import { FollowerProgress } from './follower-progress.js';
import { EMPTY_COMMAND } from './log-entry.js';
import {
  changedConfiguration,
  ConfigurationError,
  encodeConfiguration,
  isMember,
} from './cluster-configuration.js';
import type { ClusterConfiguration, ConfigurationChange } from './cluster-configuration.js';
import { assertInvariant } from './invariant-violation.js';
import type { LogEntry, SnapshotMetadata } from './log-entry.js';
import type {
  AppendRequest,
  AppendResponse,
  Heartbeat,
  HeartbeatResponse,
  Message,
  NodeId,
  SnapshotResponse,
} from './messages.js';
import { ReadBarrierQueue } from './read-barrier-queue.js';
import type {
  ConfigurationChangeResult,
  FailureDetectorKind,
  FollowerStatus,
  ProposalResult,
} from './core-types.js';
import { FollowerLiveness, type TickClock } from './failure-detection.js';

/** Limits and timing of the leader's replication. */
export interface LeaderReplicationOptions {
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
  readonly maxInflightAppends: number;
  readonly maxAppendBytes: number;
  readonly snapshotChunkBytes: number;
  /** Which failure detector decides that a follower is not live. */
  readonly failureDetector: FailureDetectorKind;
  /** Phi at and above which a follower is suspected (phi-accrual only). */
  readonly phiThreshold: number;
  /** Entries a learner may lag and still be promoted. */
  readonly promoteLagLimit: number;
}

/** Answers a leader gets from its followers. */
type FollowerAnswer = Extract<
  Message,
  { kind: 'append-response' | 'heartbeat-response' | 'snapshot-response' }
>;

/**
 * The leader side of replication: per-follower progress, the leader's high-water mark (rule 3),
 * heartbeats, appends and snapshot sending, check-quorum (rule 6), read barriers for linearizable reads (rule 7)
 * and leadership transfer. Only acts while the façade's role is leader.
 */
export class LeaderReplication {
  /** Where a leadership transfer is going, while one is under way. */
  transferTarget: NodeId | undefined;
  /** Ticks since the last check-quorum (reset by a leadership transfer). */
  checkQuorumElapsed = 0;
  private heartbeatElapsed = 0;
  private committedInCurrentGeneration = false;
  /** The leader's match-index tracker for its generation (from @x/high-water-mark). */
  private highWaterMarkTracker: LeaderHighWaterMark | undefined;
  private readonly progress = new Map<NodeId, FollowerProgress>();
  private readonly reads = new ReadBarrierQueue();
  /** The highest read round each member confirmed (@x/quorum); this leader confirms every one. */
  private readRoundConfirmations: QuorumTracker;
  /** Which followers answer (through `@x/heartbeat`): check-quorum counts the live ones. */
  private readonly liveness: FollowerLiveness;
  private appendBroadcastPending = false;
  private heartbeatBroadcastPending = false;
  /**
   * The high-water mark rose: followers that no message has told of it yet get a heartbeat. Not
   * every follower: at load an append leaves in the same Ready carrying the mark, and a heartbeat
   * beside it doubled the messages (and the answers, each a socket write) per commit.
   */
  private commitBroadcastPending = false;
  /** The configuration the trackers and the progress map were built for. */
  private trackedConfiguration: ClusterConfiguration;

  constructor(
    private readonly core: CoreContext,
    clock: TickClock,
    private readonly options: LeaderReplicationOptions,
  ) {
    this.liveness = new FollowerLiveness(options.failureDetector, clock, options);
    this.trackedConfiguration = core.configuration;
    this.readRoundConfirmations = this.newReadRoundConfirmations();
    this.syncProgress();
  }

  /**
   * The configuration in force changed (this leader appended a configuration entry, or a new
   * leadership starts with the one in its log): replicate to every member of it, and count only
   * its voters from now on (Raft: a configuration takes effect when appended). Members it drops
   * keep their progress until the entry is committed, so they learn of their removal.
   */
  configurationChanged(): void {
    const configuration = this.core.configuration;
    if (configuration === this.trackedConfiguration) return;
    this.trackedConfiguration = configuration;
    this.syncProgress();
    const previousReads = this.readRoundConfirmations;
    this.readRoundConfirmations = this.newReadRoundConfirmations();
    for (const voter of configuration.voters) {
      if (voter !== this.core.id) {
        this.readRoundConfirmations.record(voter, previousReads.valueOf(voter));
      }
    }
    this.rebuildHighWaterMarkTracker();
  }

  /** Whether this leader replicates to `member` (a member, or one being removed). */
  tracks(member: NodeId): boolean {
    return this.progress.has(member);
  }

  /**
   * Adds progress for members new to the configuration. A member outside it keeps its progress
   * until it was told that its removal is committed (see {@link sendHeartbeat}).
   */
  private syncProgress(): void {
    const core = this.core;
    const configuration = core.configuration;
    const next = core.replica.log.lastIndex + 1;
    for (const member of [...configuration.voters, ...configuration.learners]) {
      if (member === core.id || this.progress.has(member)) continue;
      this.progress.set(member, new FollowerProgress(next, this.options.maxInflightAppends));
      if (this.highWaterMarkTracker !== undefined) this.appendBroadcastPending = true;
    }
  }

  /** This server just won an election: replicate from its log's end, and commit an entry. */
  start(): void {
    const core = this.core;
    const replica = core.replica;
    this.checkQuorumElapsed = 0;
    this.heartbeatElapsed = 0;
    this.transferTarget = undefined;
    this.committedInCurrentGeneration = false;
    this.liveness.restart();
    this.trackedConfiguration = core.configuration;
    this.syncProgress();
    this.readRoundConfirmations = this.newReadRoundConfirmations();
    this.highWaterMarkTracker = this.newHighWaterMarkTracker();
    if (core.isVoter(core.id)) {
      this.highWaterMarkTracker.recordMatchIndex(core.id, replica.durableIndex);
    }
    for (const progress of this.progress.values()) {
      progress.matchIndex = 0;
      progress.lostAcknowledgedEntries = false;
      progress.ticksSinceResponse = 0;
      progress.becomeProbe();
      progress.nextIndex = replica.log.lastIndex + 1;
      progress.highWaterMarkSent = 0;
    }
    // Rule 3: an entry of the new generation lets earlier entries commit with it.
    this.appendToOwnLog('empty', EMPTY_COMMAND);
  }

  /** This server is no longer the leader: pending reads are refused if it was. */
  stop(wasLeader: boolean): void {
    this.transferTarget = undefined;
    this.highWaterMarkTracker = undefined;
    if (wasLeader) {
      for (const requestId of this.reads.drain()) {
        this.core.outbox.readsRefused.push({
          requestId,
          reason: 'leadership-lost',
          leaderId: this.core.leaderId,
        });
      }
    }
  }

  /** One tick of a leader: heartbeats and check-quorum. */
  tick(): void {
    this.heartbeatElapsed++;
    this.checkQuorumElapsed++;
    for (const progress of this.progress.values()) {
      progress.ticksSinceResponse++;
      if (progress.state === 'snapshot') progress.ticksSinceSnapshotProgress++;
    }
    if (this.checkQuorumElapsed >= this.options.electionTimeoutTicks) {
      this.checkQuorumElapsed = 0;
      // Rule 6, check-quorum: a leader whose failure detector finds no live majority steps down.
      if (!this.heardFromMajority()) {
        this.core.cover('check-quorum-stepped-down');
        this.core.becomeFollower(this.core.generation, undefined);
        return;
      }
      this.transferTarget = undefined;
    }
    if (this.heartbeatElapsed >= this.options.heartbeatIntervalTicks) {
      this.heartbeatElapsed = 0;
      this.heartbeatBroadcastPending = true;
    }
  }

  /** Whether the next Ready has appends, heartbeats or a read round to send. */
  get sendsPending(): boolean {
    return (
      this.appendBroadcastPending ||
      this.heartbeatBroadcastPending ||
      this.commitBroadcastPending ||
      this.reads.roundNeeded
    );
  }

  /** Sends what accumulated since the last Ready: one batched append per follower, reads, beats. */
  flushSends(): void {
    if (this.reads.startRound(this.core.replica.highWaterMark)) {
      this.heartbeatBroadcastPending = true;
    }
    if (this.appendBroadcastPending) {
      this.appendBroadcastPending = false;
      for (const [peer, progress] of this.progress) this.sendAppend(peer, progress);
    }
    if (this.heartbeatBroadcastPending) {
      this.heartbeatBroadcastPending = false;
      this.commitBroadcastPending = false;
      for (const [peer, progress] of this.progress) this.sendHeartbeat(peer, progress);
    } else if (this.commitBroadcastPending) {
      this.commitBroadcastPending = false;
      const highWaterMark = this.core.replica.highWaterMark;
      for (const [peer, progress] of this.progress) {
        // What a heartbeat would tell it (see sendHeartbeat), unless a message already did.
        if (progress.highWaterMarkSent < Math.min(progress.matchIndex, highWaterMark)) {
          this.sendHeartbeat(peer, progress);
        }
      }
    }
  }

  /** Forgets broadcasts not sent (a server that is not the leader sends none). */
  clearPendingSends(): void {
    this.appendBroadcastPending = false;
    this.heartbeatBroadcastPending = false;
    this.commitBroadcastPending = false;
  }

  /** Appends a client command (the façade checked this server leads). */
  propose(command: Uint8Array): ProposalResult {
    if (this.transferTarget !== undefined) {
      return { accepted: false, reason: 'leadership-transfer', leaderId: this.transferTarget };
    }
    const index = this.appendToOwnLog('command', command);
    return { accepted: true, index, generation: this.core.generation };
  }

  /**
   * Appends a configuration entry for one single-server change, after the checks that keep
   * single-server changes safe (docs/design.md, "Membership changes"): one uncommitted change at
   * most, and an entry of this leader's generation committed first.
   */
  proposeConfigurationChange(change: ConfigurationChange): ConfigurationChangeResult {
    const core = this.core;
    const replica = core.replica;
    const refuse = (
      reason: Exclude<ConfigurationChangeResult, { accepted: true }>['reason'],
      detail: string,
    ): ConfigurationChangeResult => ({
      accepted: false,
      reason,
      leaderId: reason === 'leadership-transfer' ? this.transferTarget : core.id,
      detail,
    });
    if (this.transferTarget !== undefined) {
      return refuse('leadership-transfer', `leadership is moving to ${this.transferTarget}`);
    }
    if (!this.committedInCurrentGeneration) {
      return refuse('leader-not-ready', 'no entry of this leader generation is committed yet');
    }
    const history = replica.log.configurations;
    if (history.latestEntryIndex > replica.highWaterMark) {
      return refuse(
        'change-in-flight',
        `the configuration entry at ${history.latestEntryIndex} is not committed yet`,
      );
    }
    let next: ClusterConfiguration;
    try {
      next = changedConfiguration(core.configuration, change);
    } catch (error) {
      if (error instanceof ConfigurationError) return refuse(error.problem, error.message);
      throw error;
    }
    if (change.kind === 'promote') {
      const progress = this.progress.get(change.member);
      const lag = replica.log.lastIndex - (progress?.matchIndex ?? 0);
      // A learner that has acknowledged nothing to this leader is not known to be in sync, however
      // short the log: right after it was added it may not even be running.
      if (
        progress === undefined ||
        progress.matchIndex === 0 ||
        lag > this.options.promoteLagLimit ||
        progress.ticksSinceResponse >= this.options.electionTimeoutTicks
      ) {
        return refuse(
          'learner-not-caught-up',
          `can only promote a learner member which is in sync with leader (${change.member} lags ${lag} entries)`,
        );
      }
    }
    if (this.liveVoters(next) < majority(next.voters.length)) {
      return refuse(
        'not-enough-started-members',
        're-configuration failed due to not enough started members',
      );
    }
    const index = this.appendToOwnLog('configuration', encodeConfiguration(next));
    // The leader committed its own empty entry, after every earlier leader's entry: only this one
    // is above the mark.
    assertInvariant(
      history.countAbove(replica.highWaterMark) === 1,
      'configuration-changes-in-flight',
      () => `${history.countAbove(replica.highWaterMark)} uncommitted configuration entries`,
    );
    return { accepted: true, index, generation: core.generation, configuration: next };
  }

  /** Voters of `configuration` this leader counts live now, itself included if it is one. */
  private liveVoters(configuration: ClusterConfiguration): number {
    let live = 0;
    for (const voter of configuration.voters) {
      if (voter === this.core.id) live++;
      else {
        const progress = this.progress.get(voter);
        // A voter just promoted counts as live when it answered within an election timeout.
        if (
          progress !== undefined &&
          !progress.lostAcknowledgedEntries &&
          progress.ticksSinceResponse < this.options.electionTimeoutTicks
        ) {
          live++;
        }
      }
    }
    return live;
  }

  /** Queues a read barrier on the leader (see {@link ReadBarrierQueue}). */
  readBarrier(requestId: number): void {
    // Until an entry of this generation is committed, the leader's high-water mark may be behind
    // entries that earlier leaders committed.
    if (!this.committedInCurrentGeneration) this.reads.deferUntilCommit(requestId);
    else if (this.servesReadsAlone()) {
      this.core.outbox.readsPermitted.push({
        requestId,
        index: this.core.replica.highWaterMark,
      });
    } else this.reads.queue(requestId);
  }

  /** Whether this leader is the only voter: it confirms reads without a round. */
  private servesReadsAlone(): boolean {
    const voters = this.core.configuration.voters;
    return voters.length === 1 && voters[0] === this.core.id;
  }

  /** The leader's own log is durable through `durableIndex`: it counts toward the mark. */
  ownLogDurable(durableIndex: number): void {
    this.advanceHighWaterMark(this.core.id, durableIndex);
  }

  /** See `LeaderFollowerCore.transferLeadership`. */
  transferLeadership(to: NodeId | undefined): NodeId | undefined {
    let target = to;
    if (target === undefined) {
      let bestMatch = -1;
      for (const [peer, progress] of this.progress) {
        if (progress.lostAcknowledgedEntries || !this.core.isVoter(peer)) continue;
        if (progress.matchIndex > bestMatch) {
          bestMatch = progress.matchIndex;
          target = peer;
        }
      }
    }
    if (target === undefined || target === this.core.id || !this.core.isVoter(target)) {
      return undefined;
    }
    const progress = this.progress.get(target);
    if (progress === undefined) return undefined;
    this.transferTarget = target;
    this.checkQuorumElapsed = 0;
    if (progress.matchIndex === this.core.replica.log.lastIndex) this.sendTimeoutNow(target);
    else this.sendAppend(target, progress);
    return target;
  }

  /** Handles a follower's answer to an append, heartbeat or snapshot chunk. */
  handleAnswer(from: NodeId, message: FollowerAnswer): void {
    const progress = this.progress.get(from);
    if (progress === undefined) return;
    this.liveness.heard(from);
    progress.ticksSinceResponse = 0;
    if (message.kind === 'append-response') this.handleAppendResponse(from, progress, message);
    else if (message.kind === 'heartbeat-response') {
      this.handleHeartbeatResponse(from, progress, message);
    } else this.handleSnapshotResponse(from, progress, message);
  }

  /** Per-follower replication, for operators. */
  followerStatuses(): FollowerStatus[] {
    const lastIndex = this.core.replica.log.lastIndex;
    return [...this.progress].map(([id, progress]) => ({
      id,
      matchIndex: progress.matchIndex,
      nextIndex: progress.nextIndex,
      lag: lastIndex - progress.matchIndex,
      state: progress.state,
      inflightAppends: progress.inflightCount,
      ticksSinceResponse: progress.ticksSinceResponse,
      learner: !this.core.isVoter(id),
      lostAcknowledgedEntries: progress.lostAcknowledgedEntries,
      suspected: this.liveness.isSuspected(id),
      live: this.liveness.isLive(id),
      ...this.phiField(id),
    }));
  }

  private phiField(peer: NodeId): { phi?: number } {
    const phi = this.liveness.phi(peer);
    return phi === undefined ? {} : { phi };
  }

  /** Check-quorum over the voters in force: learners are never counted. */
  private heardFromMajority(): boolean {
    const voters = this.core.configuration.voters;
    let active = 0;
    for (const voter of voters) {
      if (voter === this.core.id) active++;
      else {
        const progress = this.progress.get(voter);
        if (progress !== undefined && this.liveness.isLive(voter)) {
          if (!progress.lostAcknowledgedEntries) active++;
        }
      }
    }
    return active >= majority(voters.length);
  }

  private appendToOwnLog(kind: LogEntry['kind'], command: Uint8Array): number {
    const log = this.core.replica.log;
    const index = log.lastIndex + 1;
    log.append({ index, generation: this.core.generation, kind, command });
    this.appendBroadcastPending = true;
    // A single-server cluster commits as soon as its own write is durable.
    return index;
  }

  private sendHeartbeat(peer: NodeId, progress: FollowerProgress): void {
    const heartbeat: Heartbeat = {
      kind: 'heartbeat',
      generation: this.core.generation,
      highWaterMark: Math.min(progress.matchIndex, this.core.replica.highWaterMark),
      readRound: this.reads.round,
      ...this.core.identities.table(),
    };
    this.core.send(peer, heartbeat);
    progress.highWaterMarkSent = Math.max(progress.highWaterMarkSent, heartbeat.highWaterMark);
    const core = this.core;
    const removalIndex = core.replica.log.configurations.latestEntryIndex;
    if (
      !isMember(core.configuration, peer) &&
      removalIndex <= core.replica.highWaterMark &&
      heartbeat.highWaterMark >= removalIndex
    ) {
      // A removed member now holds its removal and knows it is committed: it stops on its own.
      this.progress.delete(peer);
    }
  }

  /**
   * Sends the follower its next batches of entries (as many as its in-flight window allows), or a
   * snapshot when it is behind the low-water mark. With `evenIfEmpty`, an empty append probes a
   * follower whose answers may have been lost. The one place an append for a peer is built.
   */
  private sendAppend(peer: NodeId, progress: FollowerProgress, evenIfEmpty = false): void {
    const log = this.core.replica.log;
    let sendEmpty = evenIfEmpty;
    while (!progress.paused) {
      const prevIndex = progress.nextIndex - 1;
      const prevGeneration = log.generationAt(prevIndex);
      if (prevGeneration === undefined) {
        if (prevIndex < log.compactedIndex) this.startSnapshot(peer, progress);
        return;
      }
      const entries = log.slice(progress.nextIndex, log.lastIndex, this.options.maxAppendBytes);
      // In replicate state an empty append carries nothing the heartbeats do not.
      if (entries.length === 0 && progress.state === 'replicate' && !sendEmpty) return;
      sendEmpty = false;
      const request: AppendRequest = {
        kind: 'append',
        generation: this.core.generation,
        prevIndex,
        prevGeneration,
        entries,
        highWaterMark: this.core.replica.highWaterMark,
      };
      progress.sentAppend(prevIndex + entries.length, entries.length);
      this.core.send(peer, request);
      // The follower commits through the mark as far as this append's entries reach.
      progress.highWaterMarkSent = Math.max(
        progress.highWaterMarkSent,
        Math.min(request.highWaterMark, prevIndex + entries.length),
      );
      if (progress.state !== 'replicate' || progress.nextIndex > log.lastIndex) return;
    }
  }

  private startSnapshot(peer: NodeId, progress: FollowerProgress): void {
    const snapshot = this.core.replica.latestSnapshot;
    if (snapshot === undefined) return;
    progress.becomeSnapshot(snapshot.index);
    this.core.cover('snapshot-sent');
    this.sendSnapshotChunk(peer, progress, snapshot);
  }

  /** Asks the driver to read the follower's next chunk from the durable snapshot and send it. */
  private sendSnapshotChunk(
    peer: NodeId,
    progress: FollowerProgress,
    snapshot: SnapshotMetadata,
  ): void {
    const offset = progress.snapshotOffset;
    const end = Math.min(offset + this.options.snapshotChunkBytes, snapshot.sizeBytes);
    progress.ticksSinceSnapshotProgress = 0;
    this.core.outbox.snapshotChunksToSend.push({
      to: peer,
      generation: this.core.generation,
      snapshotIndex: snapshot.index,
      snapshotGeneration: snapshot.generation,
      offset,
      length: Math.max(0, end - offset),
      totalBytes: snapshot.sizeBytes,
      ...(snapshot.configuration === undefined ? {} : { configuration: snapshot.configuration }),
    });
  }

  private sendTimeoutNow(peer: NodeId): void {
    this.core.send(peer, { kind: 'timeout-now', generation: this.core.generation });
  }

  private handleAppendResponse(
    from: NodeId,
    progress: FollowerProgress,
    response: AppendResponse,
  ): void {
    const log = this.core.replica.log;
    if (response.rejected) {
      // Fast back-off: skip every entry the follower's hint shows cannot match.
      const nextProbe =
        response.hintGeneration > 0
          ? log.lastIndexWithGenerationAtMost(response.hintIndex, response.hintGeneration)
          : response.hintIndex;
      if (progress.matchIndex > 0 && response.index <= progress.matchIndex) {
        // It stored and acknowledged everything through matchIndex to this leader, durably; within
        // one generation nothing may truncate that. Answers arrive in order per peer, so this
        // is not a stale rejection: the follower lost acknowledged entries (a forgetful member).
        this.followerLostEntries(from, progress, response.index, nextProbe);
        return;
      }
      if (progress.backOff(response.index, nextProbe)) this.sendAppend(from, progress);
      return;
    }
    const wasPaused = progress.paused;
    if (!progress.acknowledge(response.index)) {
      if (wasPaused && !progress.paused) this.sendAppend(from, progress);
      return;
    }
    if (progress.state === 'probe') progress.becomeReplicate();
    if (progress.state === 'snapshot' && progress.matchIndex >= progress.snapshotIndex) {
      progress.becomeProbe();
    }
    this.advanceHighWaterMark(from, progress.matchIndex);
    if (this.transferTarget === from && progress.matchIndex === log.lastIndex) {
      this.sendTimeoutNow(from);
    }
    this.sendAppend(from, progress);
  }

  private handleHeartbeatResponse(
    from: NodeId,
    progress: FollowerProgress,
    response: HeartbeatResponse,
  ): void {
    // A member that lost acknowledged entries is not counted again during this leadership; a
    // learner is not a voter of the tracker, so its answer is ignored there.
    if (
      !progress.lostAcknowledgedEntries &&
      this.readRoundConfirmations.record(from, response.readRound)
    ) {
      this.confirmReads();
    }
    if (progress.state === 'snapshot') {
      const snapshot = this.core.replica.latestSnapshot;
      if (
        snapshot !== undefined &&
        progress.ticksSinceSnapshotProgress >= 2 * this.options.heartbeatIntervalTicks
      ) {
        // A chunk or its answer was lost: resend from where the follower last was.
        if (snapshot.index !== progress.snapshotIndex) progress.becomeSnapshot(snapshot.index);
        this.sendSnapshotChunk(from, progress, snapshot);
      }
      return;
    }
    if (progress.matchIndex < this.core.replica.log.lastIndex) {
      // Answers may have been lost: let one more append out so replication cannot stall.
      progress.probeSent = false;
      if (progress.state === 'replicate' && progress.paused) progress.freeOldestInflight();
      this.sendAppend(from, progress, true);
    }
  }

  private handleSnapshotResponse(
    from: NodeId,
    progress: FollowerProgress,
    response: SnapshotResponse,
  ): void {
    if (progress.state !== 'snapshot' || response.snapshotIndex !== progress.snapshotIndex) return;
    const snapshot = this.core.replica.latestSnapshot;
    if (response.installedIndex > 0) {
      progress.acknowledge(response.installedIndex);
      progress.becomeProbe();
      this.advanceHighWaterMark(from, progress.matchIndex);
      this.sendAppend(from, progress);
      return;
    }
    if (snapshot === undefined || snapshot.index !== progress.snapshotIndex) {
      progress.becomeProbe();
      this.sendAppend(from, progress);
      return;
    }
    if (response.rejected) progress.snapshotOffset = 0;
    else if (response.nextOffset > progress.snapshotOffset) {
      progress.snapshotOffset = response.nextOffset;
    } else return;
    this.sendSnapshotChunk(from, progress, snapshot);
  }

  /**
   * Rule 3: the high-water mark moves to the highest index stored on a majority, counting the
   * leader's own log only as far as it is durable, and only if that entry is from the current
   * generation (the tracker checks). Earlier entries become committed with it.
   */
  private advanceHighWaterMark(member: NodeId, matchIndex: number): void {
    const tracker = this.highWaterMarkTracker;
    if (tracker === undefined) return;
    // A member that lost acknowledged entries is not counted again during this leadership.
    if (this.progress.get(member)?.lostAcknowledgedEntries === true) return;
    // Only voters of the configuration in force count (a learner, the leader being removed: no).
    if (!this.core.isVoter(member)) return;
    this.raiseHighWaterMark(tracker.recordMatchIndex(member, matchIndex));
  }

  /** The tracker found `candidate` stored on a majority of the voters: commit through it. */
  private raiseHighWaterMark(candidate: number): void {
    const replica = this.core.replica;
    if (candidate <= replica.highWaterMark) return;
    replica.highWaterMark = candidate;
    this.commitBroadcastPending = true;
    if (!this.committedInCurrentGeneration) {
      this.committedInCurrentGeneration = true;
      for (const requestId of this.reads.takeDeferred()) this.readBarrier(requestId);
    }
    this.configurationCommitted();
  }

  /**
   * The high-water mark moved: once the latest configuration entry is committed, members it
   * dropped are no longer replicated to, and a leader it removed hands over and steps down.
   */
  private configurationCommitted(): void {
    const core = this.core;
    const replica = core.replica;
    if (replica.log.configurations.latestEntryIndex > replica.highWaterMark) return;
    this.syncProgress();
    if (core.isVoter(core.id)) return;
    // Removed: tell the followers the entry is committed, hand over to the most caught-up voter,
    // and step down; this server never campaigns again (it is not a voter).
    this.flushSends();
    let successor: NodeId | undefined;
    let bestMatch = -1;
    for (const [peer, progress] of this.progress) {
      if (core.isVoter(peer) && progress.matchIndex > bestMatch) {
        bestMatch = progress.matchIndex;
        successor = peer;
      }
    }
    if (successor !== undefined && bestMatch === replica.log.lastIndex) {
      this.sendTimeoutNow(successor);
    }
    core.cover('leader-removed');
    core.becomeFollower(core.generation, undefined);
  }

  /** Permits every read whose round a majority (this leader included) has confirmed. */
  private confirmReads(): void {
    const confirmed = this.readRoundConfirmations.quorumValue();
    const permits = this.core.outbox.readsPermitted;
    const before = permits.length;
    this.reads.confirm((round) => round <= confirmed, permits);
    if (permits.length > before) this.core.cover('read-barrier-confirmed');
  }

  /** Read-round confirmations over the voters in force (this leader confirms each of its rounds). */
  private newReadRoundConfirmations(): QuorumTracker {
    const tracker = new QuorumTracker(this.core.configuration.voters);
    tracker.record(this.core.id, Number.POSITIVE_INFINITY);
    return tracker;
  }

  /** Reports a follower that lost acknowledged entries and stops counting it (see the type). */
  private followerLostEntries(
    member: NodeId,
    progress: FollowerProgress,
    rejectedIndex: number,
    nextProbe: number,
  ): void {
    this.core.outbox.lostAcknowledgedEntries.push({
      member,
      acknowledgedIndex: progress.matchIndex,
      rejectedIndex,
    });
    progress.forgetMatch(Math.min(rejectedIndex, nextProbe + 1));
    this.readRoundConfirmations.reset(member);
    this.rebuildHighWaterMarkTracker();
    this.sendAppend(member, progress);
  }

  /**
   * A high-water-mark tracker over the voters in force. The tracker names one member "leader"
   * only to list it: a leader outside the voters (removing itself) is not counted.
   */
  private newHighWaterMarkTracker(): LeaderHighWaterMark {
    const log = this.core.replica.log;
    const [first, ...rest] = this.core.configuration.voters;
    assertInvariant(
      first !== undefined &&
        this.core.configuration.voters.every(
          (voter) => !this.core.configuration.learners.includes(voter),
        ),
      'learner-counted',
      () => `voters ${this.core.configuration.voters.join(',')} overlap the learners`,
    );
    return new LeaderHighWaterMark({
      leader: first ?? this.core.id,
      followers: rest,
      generation: this.core.generation,
      // -1 is no generation: an entry the log no longer holds is never committed by counting.
      generationOf: (index) => log.generationAt(index) ?? -1,
      highWaterMark: this.core.replica.highWaterMark,
    });
  }

  /**
   * Recounts the match indexes without the members that lost acknowledged entries: their earlier
   * acknowledgements no longer hold. The high-water mark itself never moves back.
   */
  private rebuildHighWaterMarkTracker(): void {
    if (this.highWaterMarkTracker === undefined) return;
    const tracker = this.newHighWaterMarkTracker();
    const core = this.core;
    if (core.isVoter(core.id)) tracker.recordMatchIndex(core.id, core.replica.durableIndex);
    for (const [peer, progress] of this.progress) {
      if (!progress.lostAcknowledgedEntries && core.isVoter(peer)) {
        tracker.recordMatchIndex(peer, progress.matchIndex);
      }
    }
    this.highWaterMarkTracker = tracker;
    // Fewer voters (one removed) may already hold a majority of later entries.
    this.raiseHighWaterMark(tracker.highWaterMark);
  }
}
