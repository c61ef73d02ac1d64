import type { ElectionContext } from './core-context.js';
import { Election } from './election.js';
import { assertInvariant } from './invariant-violation.js';
import { TickClock } from './failure-detection.js';
import { FollowerReplication } from './follower-replication.js';
import { LeaderReplication } from './leader-replication.js';
import type { HardState, LogEntry, SnapshotMetadata } from './log-entry.js';
import type { Message, NodeId } from './messages.js';
import { ReadyOutbox } from './ready-outbox.js';
import { ReplicaState } from './replica-state.js';
import { ReplicatedLog } from './replicated-log.js';
import { StorageIdentities } from './storage-identities.js';
import { VolatileGenerationClock } from '@x/generation-clock';
import { DEFAULT_PHI_THRESHOLD } from './core-types.js';
import { clusterConfiguration, isMember, isVoter } from './cluster-configuration.js';
import type { ClusterConfiguration, ConfigurationChange } from './cluster-configuration.js';
import type {
  ConfigurationChangeResult,
  CoreOptions,
  CoreStatus,
  EntriesToLoad,
  CoverageMark,
  ProposalResult,
  Ready,
  Role,
} from './core-types.js';

/**
 * The leader-follower algorithm as a synchronous state machine with no I/O (DESIGN.md §5).
 *
 * Inputs: `tick`, `step` (a peer's message), `propose`, `readBarrier`, `persisted`, `applied`,
 * `snapshotTaken`, `transferLeadership`. Outputs are collected until the driver calls
 * `takeReady`. Vocabulary: generation = term, high-water mark = commit index, low-water mark =
 * the highest index released from the log (a follower behind it is sent the snapshot, whose own
 * index, `snapshotIndex`, is at or above it), read barrier = Raft's read index.
 *
 * This class is the façade, organised as etcd-io/raft is: it alone owns the generation, the vote
 * and the role, and routes inputs to the role parts — `Election`, `LeaderReplication`,
 * `FollowerReplication` — which share the `ReplicaState` and write their outputs to
 * the `ReadyOutbox`.
 */
export class LeaderFollowerCore {
  readonly id: NodeId;
  /** The configuration in force at the last check (to notice a change). */
  private knownConfiguration: ClusterConfiguration;
  /** Whether `Ready.removedFromCluster` was reported already. */
  private removalReported = false;

  /** Logical time for the failure detectors: one unit per tick. */
  private readonly clock = new TickClock();
  private roleValue: Role = 'follower';
  /** The generation and the vote cast in it (@x/generation-clock); the driver persists them. */
  private readonly generationClock: VolatileGenerationClock;
  private leaderId: NodeId | undefined;
  /** The generation and high-water mark at the last check, which may never move back. */
  private checkedGeneration: number;
  private checkedHighWaterMark: number;

  /** The in-memory log (the same object as `replica.log`). */
  private readonly log: ReplicatedLog;
  private readonly replica: ReplicaState;
  private readonly outbox: ReadyOutbox;
  private readonly identities: StorageIdentities;
  private readonly election: Election;
  private readonly leader: LeaderReplication;
  private readonly follower: FollowerReplication;
  private readonly onCoverage: ((mark: CoverageMark) => void) | undefined;

  constructor(options: CoreOptions) {
    const initialConfiguration = clusterConfiguration(options.members, options.learners ?? []);
    if (!isMember(initialConfiguration, options.id)) {
      throw new Error(`members or learners must include this server (${options.id})`);
    }
    this.id = options.id;
    this.onCoverage = options.onCoverage;
    const electionTimeoutTicks = options.electionTimeoutTicks ?? 10;
    const heartbeatIntervalTicks = options.heartbeatIntervalTicks ?? 1;
    const failureDetector = options.failureDetector ?? 'fixed';
    const phiThreshold = options.phiThreshold ?? DEFAULT_PHI_THRESHOLD;

    const hardState = options.hardState ?? { generation: 0, votedFor: undefined };
    this.generationClock = new VolatileGenerationClock(
      hardState.votedFor === undefined
        ? { generation: hardState.generation }
        : { generation: hardState.generation, votedFor: hardState.votedFor },
    );
    const snapshot = options.snapshot;
    this.log = new ReplicatedLog(
      snapshot?.index ?? 0,
      snapshot?.generation ?? 0,
      options.entries ?? [],
      snapshot?.configuration ?? initialConfiguration,
    );
    this.knownConfiguration = this.configuration;
    this.replica = new ReplicaState(snapshot, this.log, options.appliedIndex);
    this.checkedGeneration = hardState.generation;
    this.checkedHighWaterMark = this.replica.highWaterMark;
    this.outbox = new ReadyOutbox(hardState, this.replica);
    this.identities = new StorageIdentities(
      this.id,
      options.storageId,
      options.peerStorageIds,
      (member) => isMember(this.configuration, member),
      this.outbox,
    );

    const context = this.roleContext();
    this.leader = new LeaderReplication(context, this.clock, {
      electionTimeoutTicks,
      heartbeatIntervalTicks,
      failureDetector,
      phiThreshold,
      maxInflightAppends: options.maxInflightAppends ?? 64,
      maxAppendBytes: options.maxAppendBytes ?? 1024 * 1024,
      snapshotChunkBytes: options.snapshotChunkBytes ?? 256 * 1024,
      promoteLagLimit: options.promoteLagLimit ?? 1000,
    });
    this.follower = new FollowerReplication(context);
    this.election = new Election(context, this.clock, options.random, {
      electionTimeoutTicks,
      heartbeatIntervalTicks,
      advanceFirstElection: options.advanceFirstElection === true,
      failureDetector,
      phiThreshold,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs
  // ---------------------------------------------------------------------------------------------

  /** Advances logical time by one tick: election timeouts, heartbeats, check-quorum. */
  tick(): void {
    this.clock.advance();
    if (this.roleValue === 'leader') this.leader.tick();
    else this.election.tick();
    this.afterConfigurationInput();
    this.checkInvariants();
  }

  /**
   * Handles one message from a peer. A leader's messages (appends, heartbeats, snapshot chunks,
   * `timeout-now`) are taken from any sender, since a newly added leader may be missing from this
   * server's configuration until its entries arrive; other messages only from members (and, on a
   * leader, from a member being removed). Vote requests from non-voters are refused.
   */
  step(from: NodeId, message: Message): void {
    this.handle(from, message);
    this.afterConfigurationInput();
    this.checkInvariants();
  }

  /** Whether a message from `from` is looked at (see {@link step}). */
  private accepts(from: NodeId, message: Message): boolean {
    if (from === this.id) return false;
    switch (message.kind) {
      case 'append':
      case 'heartbeat':
      case 'snapshot-chunk':
      case 'timeout-now':
      case 'vote-request': // membership is checked in handle (Election.considersCandidate)
        return true;
      default:
        return (
          isMember(this.configuration, from) ||
          (this.roleValue === 'leader' && this.leader.tracks(from))
        );
    }
  }

  private handle(from: NodeId, message: Message): void {
    if (!this.accepts(from, message)) return;
    if (message.kind === 'vote-request' && !this.election.considersCandidate(from, message)) {
      // A learner or a removed member may not raise this server's generation, nor get its vote.
      if (message.generation >= this.generation) {
        this.outbox.send(this.roleValue, from, {
          kind: 'vote-response',
          generation: this.generation,
          preVote: message.preVote,
          granted: false,
          ...this.identities.field(),
        });
      }
      return;
    }
    if (this.identities.checked && !this.identities.check(from, message, this.generation)) return;
    if (message.generation > this.generation) {
      if (message.kind === 'vote-request') {
        // A server that heard from a live leader within the election timeout ignores campaigns,
        // so a rejoining server cannot depose a healthy leader (rule 6).
        if (!message.leadershipTransfer && this.election.inLeaderLease()) return;
        if (!message.preVote) this.becomeFollower(message.generation, undefined);
      } else if (message.kind === 'vote-response' && message.preVote && message.granted) {
        // A granted pre-vote echoes the generation we would use; it is not a newer generation.
      } else {
        const fromLeader =
          message.kind === 'append' ||
          message.kind === 'heartbeat' ||
          message.kind === 'snapshot-chunk';
        this.becomeFollower(message.generation, fromLeader ? from : undefined);
      }
    } else if (message.generation < this.generation) {
      this.rejectStaleGeneration(from, message);
      return;
    }

    switch (message.kind) {
      case 'vote-request':
        this.election.handleVoteRequest(from, message);
        return;
      case 'vote-response':
        this.election.handleVoteResponse(from, message);
        return;
      case 'append':
        this.hearFromLeader(from);
        this.follower.handleAppend(from, message);
        return;
      case 'heartbeat':
        this.hearFromLeader(from);
        this.follower.handleHeartbeat(from, message);
        return;
      case 'snapshot-chunk':
        this.hearFromLeader(from);
        this.follower.handleSnapshotChunk(from, message);
        return;
      case 'timeout-now':
        // The leader hands over: campaign at once, skipping pre-vote and the voters' lease.
        if (this.roleValue !== 'leader' && isVoter(this.configuration, this.id)) {
          this.election.campaign('transfer');
        }
        return;
      case 'storage-lost':
        return; // handled (or ignored) by the storage identity check
      case 'append-response':
      case 'heartbeat-response':
      case 'snapshot-response':
        if (this.roleValue === 'leader') this.leader.handleAnswer(from, message);
        return;
    }
  }

  /**
   * Appends a client command if this server is the leader. The entry is replicated with the next
   * `takeReady`; the caller learns the outcome when the entry at the returned index is applied.
   */
  propose(command: Uint8Array): ProposalResult {
    if (this.roleValue !== 'leader') {
      return { accepted: false, reason: 'not-leader', leaderId: this.leaderId };
    }
    return this.leader.propose(command);
  }

  /**
   * Proposes one single-server membership change (docs/design.md, "Membership changes"): add a
   * learner, promote a caught-up learner to voter, or remove a member (the leader included: it
   * leads until the removal is committed, then steps down). The configuration entry takes effect
   * here as soon as it is appended; the caller learns it is committed when the entry at the
   * returned index is applied (`committedEntries`). Refused at once (nothing appended) for the
   * reasons of {@link ConfigurationChangeRefusal}.
   */
  proposeConfigurationChange(change: ConfigurationChange): ConfigurationChangeResult {
    if (this.roleValue !== 'leader') {
      return {
        accepted: false,
        reason: 'not-leader',
        leaderId: this.leaderId,
        detail: 'this server is not the leader',
      };
    }
    const result = this.leader.proposeConfigurationChange(change);
    if (result.accepted) this.cover('configuration-changed');
    if (result.accepted && change.kind === 'promote') this.cover('learner-promoted');
    this.afterConfigurationInput();
    this.checkInvariants();
    return result;
  }

  /**
   * The configuration in force as of `index` (what a snapshot through `index` records), or
   * undefined when the log no longer holds what was in force there.
   */
  configurationAt(index: number): ClusterConfiguration | undefined {
    if (index < this.log.compactedIndex) return undefined;
    return this.log.configurations.at(index);
  }

  /** Index of the latest configuration entry in the log (0: the snapshot's or the initial one). */
  get configurationIndex(): number {
    return this.log.configurations.latestEntryIndex;
  }

  /** The configuration in force: the latest in this server's log, committed or not. */
  get configuration(): ClusterConfiguration {
    const configuration = this.log.configurations.inForce;
    assertInvariant(configuration !== undefined, 'learner-counted', () => 'no configuration');
    return configuration as ClusterConfiguration;
  }

  /**
   * Reacts to a configuration that changed with the last input (an append or truncation here, an
   * installed snapshot, a leader's own proposal): a leader recounts its quorums; a server the
   * committed configuration removed reports it once.
   */
  private afterConfigurationInput(): void {
    const configuration = this.configuration;
    if (configuration !== this.knownConfiguration) {
      this.knownConfiguration = configuration;
      if (this.roleValue === 'leader') this.leader.configurationChanged();
    }
    if (
      !this.removalReported &&
      !isMember(configuration, this.id) &&
      this.log.configurations.latestEntryIndex > 0 &&
      this.log.configurations.latestEntryIndex <= this.replica.highWaterMark
    ) {
      this.removalReported = true;
      this.outbox.removedFromCluster = true;
      this.cover('removed-member-stopped');
    }
  }

  /**
   * Asks for a read barrier: the point a linearizable read may be served from (rule 7; Raft's
   * read index). The answer comes in a later Ready: a permit with the index the state machine
   * must reach before serving, or a refusal. Reads that arrive before the next `takeReady` share
   * one heartbeat round.
   */
  readBarrier(requestId: number): void {
    if (this.roleValue !== 'leader') {
      this.outbox.readsRefused.push({ requestId, reason: 'not-leader', leaderId: this.leaderId });
      return;
    }
    this.leader.readBarrier(requestId);
  }

  /**
   * The driver reports that the log through `index` is durable, where the entry at `index` has
   * `generation`. A report about entries that were replaced in the meantime is ignored.
   */
  persisted(index: number, generation: number): void {
    const replica = this.replica;
    if (index <= replica.durableIndex || this.log.generationAt(index) !== generation) return;
    replica.durableIndex = Math.min(index, this.log.lastIndex);
    if (this.roleValue === 'leader') this.leader.ownLogDurable(replica.durableIndex);
    this.afterConfigurationInput();
    this.checkInvariants();
  }

  /**
   * The driver reports that the state machine has applied everything through `index`.
   * @throws InvariantViolation when `index` is beyond the high-water mark (nothing uncommitted
   *   is ever handed out to apply)
   */
  applied(index: number): void {
    if (index > this.replica.appliedIndex) this.replica.appliedIndex = index;
    this.checkInvariants();
  }

  /**
   * The payload window: the driver may drop from memory the command bytes of entries through
   * `index`, oldest first, until at most `keepRecentBytes` of command bytes are held in the log.
   * The entries stay, hollow (see {@link LogEntry.hollowCommandBytes}): an append that needs them
   * asks the driver to load them first (`Ready.entriesToLoad`, {@link entriesLoaded}). Clamped to the entries that
   * are both applied and durable here, so a hollow entry can never be applied or persisted.
   * Returns how many entries were hollowed.
   */
  releasePayloadsThrough(index: number, keepRecentBytes = 0): number {
    const replica = this.replica;
    const limit = Math.min(
      index,
      replica.appliedIndex,
      this.outbox.applyCursor,
      replica.durableIndex,
    );
    return this.log.dropPayloadsThrough(limit, keepRecentBytes);
  }

  /**
   * The driver's answer to one of `Ready.entriesToLoad`: the entries `from..to` read from the log,
   * or undefined when the log no longer holds them all (the append is then dropped, as a lossy
   * network would drop it). The appends that waited for them go out in the next Ready.
   * @throws Error when a loaded entry differs in size from the one it stands for (a damaged log).
   */
  entriesLoaded(load: EntriesToLoad, entries: readonly LogEntry[] | undefined): void {
    this.outbox.entriesLoaded(this.roleValue, load, entries);
    this.afterConfigurationInput();
  }

  /**
   * The driver took a durable snapshot of the state machine. Entries up to
   * `snapshot.index - retainEntries` are dropped (the low-water mark moves); followers behind it
   * will be sent this snapshot, read by the driver chunk by chunk (see `snapshotChunksToSend`).
   */
  snapshotTaken(snapshot: SnapshotMetadata, retainEntries = 0): void {
    const replica = this.replica;
    if (snapshot.index > replica.appliedIndex) {
      throw new Error(`snapshot at ${snapshot.index} is beyond applied ${replica.appliedIndex}`);
    }
    if (replica.latestSnapshot === undefined || snapshot.index > replica.latestSnapshot.index) {
      // The snapshot records the configuration in force at its index, so compaction never loses
      // it and a follower that installs it learns it.
      const configuration =
        snapshot.configuration ?? this.log.configurations.at(snapshot.index) ?? this.configuration;
      replica.latestSnapshot = { ...snapshot, configuration };
    }
    const compactThrough = Math.min(snapshot.index - retainEntries, replica.appliedIndex);
    if (compactThrough > this.log.compactedIndex) this.log.compactThrough(compactThrough);
  }

  /**
   * Hands leadership to `to` (or the most caught-up follower): once it has every entry, it is
   * told to campaign at once. Proposals are refused meanwhile; the attempt ends after one election
   * timeout. Returns the target, or undefined when this server is not the leader or alone.
   */
  transferLeadership(to?: NodeId): NodeId | undefined {
    if (this.roleValue !== 'leader' || this.configuration.voters.length <= 1) return undefined;
    return this.leader.transferLeadership(to);
  }

  // ---------------------------------------------------------------------------------------------
  // Outputs
  // ---------------------------------------------------------------------------------------------

  /** True when `takeReady` would hand out anything. */
  hasReady(): boolean {
    if (this.roleValue === 'leader' && this.leader.sendsPending) return true;
    return this.outbox.hasOutput(this.hardState(), this.replica);
  }

  /** Drains everything the driver must do now; see {@link Ready} for the order. */
  takeReady(): Ready {
    if (this.roleValue === 'leader') this.leader.flushSends();
    this.leader.clearPendingSends();
    return this.outbox.take(this.hardState(), this.replica);
  }

  /** The server's state for operators and tests. */
  status(): CoreStatus {
    const replica = this.replica;
    return {
      id: this.id,
      role: this.roleValue,
      generation: this.generation,
      votedFor: this.votedFor,
      leaderId: this.leaderId,
      lastIndex: this.log.lastIndex,
      lastGeneration: this.log.lastGeneration,
      durableIndex: replica.durableIndex,
      highWaterMark: replica.highWaterMark,
      lowWaterMark: this.log.compactedIndex,
      snapshotIndex: replica.latestSnapshot?.index ?? 0,
      appliedIndex: replica.appliedIndex,
      ticksSinceLeaderContact: this.ticksSinceLeaderContact(),
      transferTarget: this.leader.transferTarget,
      failureDetector: this.election.timing.failureDetector,
      leaderSuspected: this.roleValue !== 'leader' && this.election.suspicion.leaderSuspected,
      ...(this.roleValue === 'leader' ? {} : this.leaderPhiField()),
      followers: this.roleValue === 'leader' ? this.leader.followerStatuses() : [],
      configuration: this.configuration,
      configurationIndex: this.log.configurations.latestEntryIndex,
    };
  }

  private leaderPhiField(): { leaderPhi?: number } {
    const phi = this.election.suspicion.leaderPhi;
    return phi === undefined ? {} : { leaderPhi: phi };
  }

  /** This server's role. */
  get role(): Role {
    return this.roleValue;
  }

  /** The leader this server knows of, if any. */
  get knownLeader(): NodeId | undefined {
    return this.leaderId;
  }

  /** The highest generation this server has seen. */
  get currentGeneration(): number {
    return this.generation;
  }

  /** The high-water mark (Raft's commit index) as this server knows it. */
  get highWaterMark(): number {
    return this.replica.highWaterMark;
  }

  /** Highest index durable on this server. */
  get durableLogIndex(): number {
    return this.replica.durableIndex;
  }

  /**
   * An index this server's log must never end before: durable here and committed as far as this
   * server knows, so no leader can ever truncate it. Any value it reported is at most the true
   * durable index, so the driver may record it lazily (see the node's `acknowledgedIndex`). A log
   * found shorter than a recorded value after a restart lost acknowledged entries.
   */
  get acknowledgedIndex(): number {
    return Math.min(this.replica.durableIndex, this.replica.highWaterMark);
  }

  /**
   * The low-water mark: the highest index released from the in-memory log (a snapshot covers it;
   * `retainEntries` may keep it below the snapshot's index).
   */
  get lowWaterMark(): number {
    return this.log.compactedIndex;
  }

  /** Bytes of command payload the in-memory log holds (hollow entries count nothing). */
  get logPayloadBytes(): number {
    return this.log.payloadBytes;
  }

  /** Entries the in-memory log holds (hollow ones included), from the low-water mark on. */
  get logEntryCount(): number {
    return this.log.lastIndex - this.log.compactedIndex;
  }

  /** The generation of the entry at `index`, if the in-memory log holds it. */
  generationAt(index: number): number | undefined {
    return this.log.generationAt(index);
  }

  /**
   * The entry at `index`, if the in-memory log holds it (for tests and invariant checks). It may
   * be hollow (its command bytes dropped: see {@link LogEntry.hollowCommandBytes}).
   */
  entryAt(index: number): LogEntry | undefined {
    return this.log.entryAt(index);
  }

  // ---------------------------------------------------------------------------------------------
  // Generation, vote and role: owned here alone
  // ---------------------------------------------------------------------------------------------

  /** The view of this façade the role parts get: they read state and ask for role changes. */
  private roleContext(): ElectionContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the parts call back into the façade
    const core = this;
    return {
      id: this.id,
      get configuration() {
        return core.configuration;
      },
      isVoter: (member) => isVoter(this.configuration, member),
      replica: this.replica,
      outbox: this.outbox,
      identities: this.identities,
      get generation() {
        return core.generation;
      },
      get votedFor() {
        return core.votedFor;
      },
      get role() {
        return core.roleValue;
      },
      get leaderId() {
        return core.leaderId;
      },
      send: (to, message) => this.outbox.send(this.roleValue, to, message),
      cover: (mark) => this.cover(mark),
      becomeFollower: (generation, leader) => this.becomeFollower(generation, leader),
      ticksSinceLeaderContact: () => this.ticksSinceLeaderContact(),
      becomePreCandidate: () => {
        this.roleValue = 'pre-candidate';
        this.leaderId = undefined;
      },
      becomeCandidate: () => {
        this.roleValue = 'candidate';
        this.generationClock.next(this.id);
        this.leaderId = undefined;
      },
      becomeLeader: () => this.becomeLeader(),
      recordVote: (candidate) => {
        const previous = this.votedFor;
        assertInvariant(
          this.generationClock.vote(candidate),
          'second-vote-in-generation',
          () =>
            `vote for ${candidate} after ${previous ?? 'none'} in generation ${this.generation}`,
        );
      },
    };
  }

  /**
   * The core's assertions, checked after every input (TigerBeetle's manner: in production, so a
   * broken state stops the server instead of spreading): applied ≤ high-water mark ≤ last index;
   * the high-water mark and the generation never move back.
   * @throws InvariantViolation when one fails
   */
  private checkInvariants(): void {
    const replica = this.replica;
    if (this.roleValue === 'leader') {
      // One change at a time: a leader never appends a second configuration entry before its
      // first is committed. (Entries of earlier leaders above its mark were committed, or not,
      // before it took over: its own empty entry commits them before it may propose.)
      const inFlight = this.log.configurations.countAbove(replica.highWaterMark, this.generation);
      assertInvariant(
        inFlight <= 1,
        'configuration-changes-in-flight',
        () => `${inFlight} uncommitted configuration entries of this leader`,
      );
    }
    const highWaterMark = replica.highWaterMark;
    assertInvariant(
      replica.appliedIndex <= highWaterMark,
      'applied-beyond-high-water-mark',
      () => `applied ${replica.appliedIndex} > high-water mark ${highWaterMark}`,
    );
    assertInvariant(
      highWaterMark <= this.log.lastIndex,
      'high-water-mark-beyond-last-index',
      () => `high-water mark ${highWaterMark} > last index ${this.log.lastIndex}`,
    );
    assertInvariant(
      highWaterMark >= this.checkedHighWaterMark,
      'high-water-mark-moved-back',
      () => `high-water mark ${highWaterMark} < ${this.checkedHighWaterMark}`,
    );
    assertInvariant(
      this.generation >= this.checkedGeneration,
      'generation-moved-back',
      () => `generation ${this.generation} < ${this.checkedGeneration}`,
    );
    this.checkedHighWaterMark = highWaterMark;
    this.checkedGeneration = this.generation;
  }

  /** The highest generation this server has seen. */
  private get generation(): number {
    return this.generationClock.current;
  }

  /** Whom this server voted for in the current generation. */
  private get votedFor(): NodeId | undefined {
    return this.generationClock.votedFor;
  }

  private hardState(): HardState {
    return { generation: this.generation, votedFor: this.votedFor };
  }

  /** Ticks since this server last heard from a leader; on a leader, since its check-quorum. */
  private ticksSinceLeaderContact(): number {
    return this.roleValue === 'leader'
      ? this.leader.checkQuorumElapsed
      : this.election.electionElapsed;
  }

  private cover(mark: CoverageMark): void {
    this.onCoverage?.(mark);
  }

  private becomeFollower(generation: number, leader: NodeId | undefined): void {
    const wasLeader = this.roleValue === 'leader';
    if (wasLeader) this.cover('stale-leader-stepped-down');
    this.generationClock.observe(generation);
    this.roleValue = 'follower';
    this.leaderId = leader;
    this.election.restartWait();
    this.election.resetTimeout();
    this.leader.stop(wasLeader);
  }

  private becomeLeader(): void {
    this.roleValue = 'leader';
    this.leaderId = this.id;
    this.election.restartWait();
    this.leader.start();
    this.cover('leader-elected');
  }

  private hearFromLeader(from: NodeId): void {
    if (this.roleValue !== 'follower') this.becomeFollower(this.generation, from);
    this.leaderId = from;
    this.election.restartWait();
  }

  /**
   * Rule 5: a message from an older generation is not acted on. Appends, heartbeats, snapshot
   * chunks and pre-votes are answered with the current generation, so a stale leader or
   * candidate learns it is stale and steps down.
   */
  private rejectStaleGeneration(from: NodeId, message: Message): void {
    const send = (reply: Message): void => this.outbox.send(this.roleValue, from, reply);
    switch (message.kind) {
      case 'append':
      case 'heartbeat':
        send({
          kind: 'append-response',
          generation: this.generation,
          rejected: true,
          index: 0,
          hintIndex: 0,
          hintGeneration: 0,
          ...this.identities.field(),
        });
        return;
      case 'snapshot-chunk':
        send({
          kind: 'snapshot-response',
          generation: this.generation,
          snapshotIndex: message.snapshotIndex,
          nextOffset: 0,
          installedIndex: 0,
          rejected: true,
        });
        return;
      case 'vote-request':
        if (message.preVote) {
          send({
            kind: 'vote-response',
            generation: this.generation,
            preVote: true,
            granted: false,
            ...this.identities.field(),
          });
        }
        return;
      default:
        return;
    }
  }
}
