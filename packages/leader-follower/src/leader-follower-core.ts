import { FollowerProgress } from './follower-progress.js';
import { EMPTY_COMMAND, commandBytesOf, isHollowEntry } from './log-entry.js';
import type { HardState, LogEntry, SnapshotMetadata } from './log-entry.js';
import { LeaderHighWaterMark } from '@x/high-water-mark';
import { majority } from '@x/quorum';
import type {
  AppendRequest,
  AppendResponse,
  Heartbeat,
  HeartbeatResponse,
  MemberStorageId,
  Message,
  NodeId,
  OutboundMessage,
  SnapshotChunk,
  SnapshotResponse,
  StorageLost,
  VoteRequest,
  VoteResponse,
} from './messages.js';
import { MemberStorageLostError } from './errors.js';
import { ReadIndexQueue } from './read-index-queue.js';
import { ReplicatedLog } from './replicated-log.js';
import { SafetyViolationError } from './safety-violation-error.js';
import type {
  CoreOptions,
  CoreStatus,
  EntriesToLoad,
  LostAcknowledgedEntries,
  PeerStorageId,
  ProposalResult,
  Random,
  ReadPermit,
  ReadRefusal,
  Ready,
  Role,
  SnapshotChunkToSend,
  SnapshotChunkToStore,
} from './core-types.js';

/** A snapshot a follower is receiving; its bytes go to the driver's storage as they arrive. */
interface IncomingSnapshot {
  readonly leaderGeneration: number;
  readonly index: number;
  readonly generation: number;
  readonly totalBytes: number;
  received: number;
}

/**
 * The leader-follower algorithm as a synchronous state machine with no I/O (DESIGN.md §5).
 *
 * Inputs: `tick`, `step` (a peer's message), `propose`, `readIndex`, `persisted`, `applied`,
 * `snapshotTaken`, `transferLeadership`. Outputs are collected until the driver calls
 * `takeReady`. Vocabulary: generation = term, high-water mark = commit index, low-water mark =
 * compaction (snapshot) index.
 */
export class LeaderFollowerCore {
  readonly id: NodeId;
  private readonly peers: readonly NodeId[];
  private readonly memberCount: number;
  private readonly random: Random;
  private readonly electionTimeoutTicks: number;
  private readonly heartbeatIntervalTicks: number;
  private readonly maxInflightAppends: number;
  private readonly maxAppendBytes: number;
  private readonly snapshotChunkBytes: number;
  private readonly storageId: string | undefined;
  private readonly peerStorageIds: Map<NodeId, string>;

  private roleValue: Role = 'follower';
  private generation: number;
  private votedFor: NodeId | undefined;
  private leaderId: NodeId | undefined;
  private readonly log: ReplicatedLog;
  private highWaterMark: number;
  private durableIndex: number;
  private appliedIndex: number;
  private latestSnapshot: SnapshotMetadata | undefined;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly votes = new Map<NodeId, boolean>();
  private readonly progress = new Map<NodeId, FollowerProgress>();
  private transferTarget: NodeId | undefined;
  private committedInCurrentGeneration = false;
  private incomingSnapshot: IncomingSnapshot | undefined;
  /** The leader's match-index tracker for its generation (from @x/high-water-mark). */
  private highWaterMarkTracker: LeaderHighWaterMark | undefined;

  private readonly reads = new ReadIndexQueue();

  // Outputs, drained by takeReady.
  private persistedHardState: HardState;
  private handedOutIndex: number;
  private applyCursor: number;
  private snapshotToInstall: SnapshotMetadata | undefined;
  private snapshotChunksToStore: SnapshotChunkToStore[] = [];
  private snapshotChunksToSend: SnapshotChunkToSend[] = [];
  private entriesToLoad: EntriesToLoad[] = [];
  /**
   * Per peer, the messages waiting behind an append whose entries the driver is loading (see
   * {@link entriesLoaded}). Only present while such a load is pending.
   */
  private readonly waitingForLoads = new Map<NodeId, WaitingMessage[]>();
  private messagesToSendNow: OutboundMessage[] = [];
  private messagesAfterPersist: OutboundMessage[] = [];
  private readsPermitted: ReadPermit[] = [];
  private readsRefused: ReadRefusal[] = [];
  private peerStorageIdsLearned: PeerStorageId[] = [];
  private lostAcknowledgedEntries: LostAcknowledgedEntries[] = [];
  private appendBroadcastPending = false;
  private heartbeatBroadcastPending = false;

  constructor(options: CoreOptions) {
    if (!options.members.includes(options.id)) {
      throw new Error(`members must include this server (${options.id})`);
    }
    this.id = options.id;
    this.peers = options.members.filter((member) => member !== options.id);
    this.memberCount = options.members.length;
    this.random = options.random;
    this.electionTimeoutTicks = options.electionTimeoutTicks ?? 10;
    this.heartbeatIntervalTicks = options.heartbeatIntervalTicks ?? 1;
    this.maxInflightAppends = options.maxInflightAppends ?? 64;
    this.maxAppendBytes = options.maxAppendBytes ?? 1024 * 1024;
    this.snapshotChunkBytes = options.snapshotChunkBytes ?? 256 * 1024;
    this.storageId = options.storageId;
    this.peerStorageIds = new Map(options.peerStorageIds ?? []);

    const hardState = options.hardState ?? { generation: 0, votedFor: undefined };
    this.generation = hardState.generation;
    this.votedFor = hardState.votedFor;
    this.persistedHardState = hardState;
    const snapshot = options.snapshot;
    this.latestSnapshot = snapshot;
    const snapshotIndex = snapshot?.index ?? 0;
    this.log = new ReplicatedLog(snapshotIndex, snapshot?.generation ?? 0, options.entries ?? []);
    // Everything handed in was read back from disk, so it is durable; the state machine was
    // restored from the snapshot, so it stands at the snapshot index.
    this.highWaterMark = snapshotIndex;
    this.durableIndex = this.log.lastIndex;
    this.appliedIndex = snapshotIndex;
    this.applyCursor = snapshotIndex;
    this.handedOutIndex = this.log.lastIndex;
    for (const peer of this.peers) {
      this.progress.set(
        peer,
        new FollowerProgress(this.log.lastIndex + 1, this.maxInflightAppends),
      );
    }
    this.resetRandomizedElectionTimeout();
    if (options.advanceFirstElection === true) {
      const shortest = Math.min(this.heartbeatIntervalTicks, this.electionTimeoutTicks - 1);
      this.randomizedElectionTimeout =
        shortest + Math.floor(this.random.next() * (this.electionTimeoutTicks - shortest));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs
  // ---------------------------------------------------------------------------------------------

  /** Advances logical time by one tick: election timeouts, heartbeats, check-quorum. */
  tick(): void {
    if (this.roleValue === 'leader') {
      this.tickLeader();
    } else {
      this.electionElapsed++;
      if (this.electionElapsed >= this.randomizedElectionTimeout) this.campaign('pre-vote');
    }
  }

  /** Handles one message from a peer. Messages from non-members are ignored. */
  step(from: NodeId, message: Message): void {
    if (!this.progress.has(from)) return;
    if (this.storageId !== undefined && !this.checkStorageIdentity(from, message)) return;
    if (message.generation > this.generation) {
      if (message.kind === 'vote-request') {
        // A server that heard from a live leader within the election timeout ignores campaigns,
        // so a rejoining server cannot depose a healthy leader (rule 6).
        if (!message.leadershipTransfer && this.inLeaderLease()) return;
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
        this.handleVoteRequest(from, message);
        return;
      case 'vote-response':
        this.handleVoteResponse(from, message);
        return;
      case 'append':
        this.hearFromLeader(from);
        this.handleAppend(from, message);
        return;
      case 'heartbeat':
        this.hearFromLeader(from);
        this.handleHeartbeat(from, message);
        return;
      case 'snapshot-chunk':
        this.hearFromLeader(from);
        this.handleSnapshotChunk(from, message);
        return;
      case 'timeout-now':
        // The leader hands over: campaign at once, skipping pre-vote and the voters' lease.
        if (this.roleValue !== 'leader') this.campaign('transfer');
        return;
      case 'storage-lost':
        return; // handled (or ignored) by checkStorageIdentity
      case 'append-response':
      case 'heartbeat-response':
      case 'snapshot-response': {
        if (this.roleValue !== 'leader') return;
        const progress = this.progress.get(from);
        if (progress === undefined) return;
        progress.recentlyActive = true;
        progress.ticksSinceResponse = 0;
        if (message.kind === 'append-response') this.handleAppendResponse(from, progress, message);
        else if (message.kind === 'heartbeat-response') {
          this.handleHeartbeatResponse(from, progress, message);
        } else this.handleSnapshotResponse(from, progress, message);
        return;
      }
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
    if (this.transferTarget !== undefined) {
      return { accepted: false, reason: 'leadership-transfer', leaderId: this.transferTarget };
    }
    const index = this.appendToOwnLog('command', command);
    return { accepted: true, index, generation: this.generation };
  }

  /**
   * Asks for a linearizable read (rule 7). The answer comes in a later Ready: a permit with the
   * index the state machine must reach before serving, or a refusal. Reads that arrive before the
   * next `takeReady` share one heartbeat round.
   */
  readIndex(requestId: number): void {
    if (this.roleValue !== 'leader') {
      this.readsRefused.push({ requestId, reason: 'not-leader', leaderId: this.leaderId });
      return;
    }
    // Until an entry of this generation is committed, the leader's high-water mark may be behind
    // entries that earlier leaders committed.
    if (!this.committedInCurrentGeneration) this.reads.deferUntilCommit(requestId);
    else if (this.peers.length === 0) {
      this.readsPermitted.push({ requestId, index: this.highWaterMark });
    } else this.reads.queue(requestId);
  }

  /**
   * The driver reports that the log through `index` is durable, where the entry at `index` has
   * `generation`. A report about entries that were replaced in the meantime is ignored.
   */
  persisted(index: number, generation: number): void {
    if (index <= this.durableIndex || this.log.generationAt(index) !== generation) return;
    this.durableIndex = Math.min(index, this.log.lastIndex);
    if (this.roleValue === 'leader') this.advanceHighWaterMark(this.id, this.durableIndex);
  }

  /** The driver reports that the state machine has applied everything through `index`. */
  applied(index: number): void {
    if (index > this.appliedIndex) this.appliedIndex = index;
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
    const limit = Math.min(index, this.appliedIndex, this.applyCursor, this.durableIndex);
    return this.log.dropPayloadsThrough(limit, keepRecentBytes);
  }

  /**
   * The driver took a durable snapshot of the state machine. Entries up to
   * `snapshot.index - retainEntries` are dropped (the low-water mark moves); followers behind it
   * will be sent this snapshot, read by the driver chunk by chunk (see `snapshotChunksToSend`).
   */
  snapshotTaken(snapshot: SnapshotMetadata, retainEntries = 0): void {
    if (snapshot.index > this.appliedIndex) {
      throw new Error(`snapshot at ${snapshot.index} is beyond applied ${this.appliedIndex}`);
    }
    if (this.latestSnapshot === undefined || snapshot.index > this.latestSnapshot.index) {
      this.latestSnapshot = snapshot;
    }
    const compactThrough = Math.min(snapshot.index - retainEntries, this.appliedIndex);
    if (compactThrough > this.log.compactedIndex) this.log.compactThrough(compactThrough);
  }

  /**
   * Hands leadership to `to` (or the most caught-up follower): once it has every entry, it is
   * told to campaign at once. Proposals are refused meanwhile; the attempt ends after one election
   * timeout. Returns the target, or undefined when this server is not the leader or alone.
   */
  transferLeadership(to?: NodeId): NodeId | undefined {
    if (this.roleValue !== 'leader' || this.peers.length === 0) return undefined;
    let target = to;
    if (target === undefined) {
      let bestMatch = -1;
      for (const [peer, progress] of this.progress) {
        if (progress.lostAcknowledgedEntries) continue;
        if (progress.matchIndex > bestMatch) {
          bestMatch = progress.matchIndex;
          target = peer;
        }
      }
    }
    if (target === undefined || target === this.id) return undefined;
    const progress = this.progress.get(target);
    if (progress === undefined) return undefined;
    this.transferTarget = target;
    this.electionElapsed = 0;
    if (progress.matchIndex === this.log.lastIndex) this.sendTimeoutNow(target);
    else this.sendAppend(target, progress);
    return target;
  }

  // ---------------------------------------------------------------------------------------------
  // Outputs
  // ---------------------------------------------------------------------------------------------

  /** True when `takeReady` would hand out anything. */
  hasReady(): boolean {
    const leaderSendsPending =
      this.roleValue === 'leader' &&
      (this.appendBroadcastPending || this.heartbeatBroadcastPending || this.reads.roundNeeded);
    return (
      leaderSendsPending ||
      this.hardStateChanged() ||
      this.handedOutIndex < this.log.lastIndex ||
      this.snapshotToInstall !== undefined ||
      this.snapshotChunksToStore.length > 0 ||
      this.snapshotChunksToSend.length > 0 ||
      this.entriesToLoad.length > 0 ||
      this.messagesToSendNow.length > 0 ||
      this.messagesAfterPersist.length > 0 ||
      this.applyCursor < this.highWaterMark ||
      this.readsPermitted.length > 0 ||
      this.readsRefused.length > 0 ||
      this.peerStorageIdsLearned.length > 0 ||
      this.lostAcknowledgedEntries.length > 0
    );
  }

  /** Drains everything the driver must do now; see {@link Ready} for the order. */
  takeReady(): Ready {
    if (this.roleValue === 'leader') this.flushLeaderSends();
    this.appendBroadcastPending = false;
    this.heartbeatBroadcastPending = false;

    let hardState: HardState | undefined;
    if (this.hardStateChanged()) {
      hardState = { generation: this.generation, votedFor: this.votedFor };
      this.persistedHardState = hardState;
    }
    const entriesToPersist =
      this.handedOutIndex < this.log.lastIndex
        ? this.log.slice(this.handedOutIndex + 1, this.log.lastIndex)
        : [];
    this.handedOutIndex = this.log.lastIndex;

    let messagesToSendNow = this.messagesToSendNow;
    let messagesAfterPersist = this.messagesAfterPersist;
    if (hardState !== undefined && messagesToSendNow.length > 0) {
      // Nothing may leave before a new generation or vote is durable (rule 1).
      messagesAfterPersist = messagesToSendNow.concat(messagesAfterPersist);
      messagesToSendNow = [];
    }
    if (this.applyCursor < this.highWaterMark && this.log.hollowThrough > this.applyCursor) {
      // Payloads are only dropped once applied: a hollow entry to apply is a bug, so stop.
      throw new Error(
        `entry ${this.applyCursor + 1} is hollow but not applied (payloads dropped through ${this.log.hollowThrough})`,
      );
    }
    const committedEntries =
      this.applyCursor < this.highWaterMark
        ? this.log.slice(this.applyCursor + 1, this.highWaterMark)
        : [];
    if (committedEntries.length > 0) {
      const last = committedEntries[committedEntries.length - 1];
      if (last !== undefined) this.applyCursor = last.index;
    }
    const ready: Ready = {
      hardState,
      entriesToPersist,
      snapshotChunksToStore: this.snapshotChunksToStore,
      snapshotToInstall: this.snapshotToInstall,
      snapshotChunksToSend: this.snapshotChunksToSend,
      entriesToLoad: this.entriesToLoad,
      messagesToSendNow,
      messagesAfterPersist,
      committedEntries,
      readsPermitted: this.readsPermitted,
      readsRefused: this.readsRefused,
      peerStorageIdsLearned: this.peerStorageIdsLearned,
      lostAcknowledgedEntries: this.lostAcknowledgedEntries,
    };
    this.peerStorageIdsLearned = [];
    this.lostAcknowledgedEntries = [];
    this.snapshotToInstall = undefined;
    this.snapshotChunksToStore = [];
    this.snapshotChunksToSend = [];
    this.entriesToLoad = [];
    this.messagesToSendNow = [];
    this.messagesAfterPersist = [];
    this.readsPermitted = [];
    this.readsRefused = [];
    return ready;
  }

  /** The server's state for operators and tests. */
  status(): CoreStatus {
    const followers =
      this.roleValue === 'leader'
        ? [...this.progress].map(([id, progress]) => ({
            id,
            matchIndex: progress.matchIndex,
            nextIndex: progress.nextIndex,
            lag: this.log.lastIndex - progress.matchIndex,
            state: progress.state,
            inflightAppends: progress.inflightCount,
            ticksSinceResponse: progress.ticksSinceResponse,
            lostAcknowledgedEntries: progress.lostAcknowledgedEntries,
          }))
        : [];
    return {
      id: this.id,
      role: this.roleValue,
      generation: this.generation,
      votedFor: this.votedFor,
      leaderId: this.leaderId,
      lastIndex: this.log.lastIndex,
      lastGeneration: this.log.lastGeneration,
      durableIndex: this.durableIndex,
      highWaterMark: this.highWaterMark,
      lowWaterMark: this.log.compactedIndex,
      snapshotIndex: this.latestSnapshot?.index ?? 0,
      appliedIndex: this.appliedIndex,
      ticksSinceLeaderContact: this.electionElapsed,
      transferTarget: this.transferTarget,
      followers,
    };
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

  /** The high-water mark (commit index) as this server knows it. */
  get committedIndex(): number {
    return this.highWaterMark;
  }

  /** Highest index durable on this server. */
  get durableLogIndex(): number {
    return this.durableIndex;
  }

  /**
   * An index this server's log must never end before: durable here and committed as far as this
   * server knows, so no leader can ever truncate it. Any value it reported is at most the true
   * durable index, so the driver may record it lazily (see the node's `acknowledgedIndex`). A log
   * found shorter than a recorded value after a restart lost acknowledged entries.
   */
  get acknowledgedIndex(): number {
    return Math.min(this.durableIndex, this.highWaterMark);
  }

  /** Highest index dropped from the in-memory log (the low-water mark). */
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
  // Roles and elections
  // ---------------------------------------------------------------------------------------------

  private becomeFollower(generation: number, leader: NodeId | undefined): void {
    const wasLeader = this.roleValue === 'leader';
    if (generation > this.generation) {
      this.generation = generation;
      this.votedFor = undefined;
    }
    this.roleValue = 'follower';
    this.leaderId = leader;
    this.electionElapsed = 0;
    this.transferTarget = undefined;
    this.highWaterMarkTracker = undefined;
    this.resetRandomizedElectionTimeout();
    if (wasLeader) this.refusePendingReads();
  }

  /**
   * Starts an election. `pre-vote` asks first whether a majority would vote for us, without
   * touching anyone's generation (rule 6); `election` and `transfer` bump the generation.
   */
  private campaign(kind: 'pre-vote' | 'election' | 'transfer'): void {
    const preVote = kind === 'pre-vote';
    if (preVote) {
      this.roleValue = 'pre-candidate';
      this.leaderId = undefined;
    } else {
      this.roleValue = 'candidate';
      this.generation++;
      this.votedFor = this.id;
      this.leaderId = undefined;
    }
    this.electionElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.votes.clear();
    this.votes.set(this.id, true);
    if (this.tallyVotes() === 'won') {
      this.winElection(preVote);
      return;
    }
    const request: VoteRequest = {
      kind: 'vote-request',
      generation: preVote ? this.generation + 1 : this.generation,
      preVote,
      leadershipTransfer: kind === 'transfer',
      lastLogIndex: this.log.lastIndex,
      lastLogGeneration: this.log.lastGeneration,
      ...this.storageIdField(),
    };
    for (const peer of this.peers) this.send(peer, request);
  }

  private winElection(preVote: boolean): void {
    if (preVote) this.campaign('election');
    else this.becomeLeader();
  }

  private becomeLeader(): void {
    this.roleValue = 'leader';
    this.leaderId = this.id;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.transferTarget = undefined;
    this.committedInCurrentGeneration = false;
    this.highWaterMarkTracker = new LeaderHighWaterMark({
      leader: this.id,
      followers: this.peers,
      generation: this.generation,
      // -1 is no generation: an entry the log no longer holds is never committed by counting.
      generationOf: (index) => this.log.generationAt(index) ?? -1,
      highWaterMark: this.highWaterMark,
    });
    this.highWaterMarkTracker.recordMatchIndex(this.id, this.durableIndex);
    for (const progress of this.progress.values()) {
      progress.matchIndex = 0;
      progress.lostAcknowledgedEntries = false;
      progress.recentlyActive = false;
      progress.readRoundAcknowledged = 0;
      progress.ticksSinceResponse = 0;
      progress.becomeProbe();
      progress.nextIndex = this.log.lastIndex + 1;
    }
    // Rule 3: an entry of the new generation lets earlier entries commit with it.
    this.appendToOwnLog('empty', EMPTY_COMMAND);
  }

  private handleVoteRequest(from: NodeId, request: VoteRequest): void {
    const canVote =
      this.votedFor === from ||
      (this.votedFor === undefined && this.leaderId === undefined) ||
      (request.preVote && request.generation > this.generation);
    // Rule 2: only a candidate whose log is at least as up to date as ours.
    const upToDate =
      request.lastLogGeneration > this.log.lastGeneration ||
      (request.lastLogGeneration === this.log.lastGeneration &&
        request.lastLogIndex >= this.log.lastIndex);
    if (canVote && upToDate) {
      if (!request.preVote) {
        this.votedFor = from;
        this.electionElapsed = 0;
      }
      this.send(from, {
        kind: 'vote-response',
        generation: request.generation,
        preVote: request.preVote,
        granted: true,
        ...this.storageIdField(),
      });
    } else {
      this.send(from, {
        kind: 'vote-response',
        generation: this.generation,
        preVote: request.preVote,
        granted: false,
        ...this.storageIdField(),
      });
    }
  }

  private handleVoteResponse(from: NodeId, response: VoteResponse): void {
    const counting =
      (this.roleValue === 'pre-candidate' && response.preVote) ||
      (this.roleValue === 'candidate' && !response.preVote);
    if (!counting) return;
    if (response.preVote && response.granted && response.generation !== this.generation + 1) return;
    this.votes.set(from, response.granted);
    const outcome = this.tallyVotes();
    if (outcome === 'won') this.winElection(response.preVote);
    else if (outcome === 'lost') this.becomeFollower(this.generation, undefined);
  }

  private tallyVotes(): 'won' | 'lost' | 'pending' {
    let granted = 0;
    let rejected = 0;
    for (const vote of this.votes.values()) {
      if (vote) granted++;
      else rejected++;
    }
    const needed = majority(this.memberCount);
    if (granted >= needed) return 'won';
    if (rejected >= needed) return 'lost';
    return 'pending';
  }

  /** A follower that heard from a leader within the election timeout keeps it (leader lease). */
  private inLeaderLease(): boolean {
    return this.leaderId !== undefined && this.electionElapsed < this.electionTimeoutTicks;
  }

  private hearFromLeader(from: NodeId): void {
    if (this.roleValue !== 'follower') this.becomeFollower(this.generation, from);
    this.leaderId = from;
    this.electionElapsed = 0;
  }

  /**
   * Rule 5: a message from an older generation is not acted on. Appends, heartbeats, snapshot
   * chunks and pre-votes are answered with the current generation, so a stale leader or
   * candidate learns it is stale and steps down.
   */
  private rejectStaleGeneration(from: NodeId, message: Message): void {
    switch (message.kind) {
      case 'append':
      case 'heartbeat':
        this.send(from, {
          kind: 'append-response',
          generation: this.generation,
          rejected: true,
          index: 0,
          hintIndex: 0,
          hintGeneration: 0,
          ...this.storageIdField(),
        });
        return;
      case 'snapshot-chunk':
        this.send(from, {
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
          this.send(from, {
            kind: 'vote-response',
            generation: this.generation,
            preVote: true,
            granted: false,
            ...this.storageIdField(),
          });
        }
        return;
      default:
        return;
    }
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout =
      this.electionTimeoutTicks + Math.floor(this.random.next() * this.electionTimeoutTicks);
  }

  // ---------------------------------------------------------------------------------------------
  // Follower side of replication
  // ---------------------------------------------------------------------------------------------

  private handleAppend(from: NodeId, request: AppendRequest): void {
    // Entries at or below the compaction point are committed, hence identical on every server.
    const prefixMatches =
      request.prevIndex <= this.log.compactedIndex ||
      this.log.matches(request.prevIndex, request.prevGeneration);
    if (!prefixMatches) {
      const hintIndex = this.log.lastIndexWithGenerationAtMost(
        Math.min(request.prevIndex, this.log.lastIndex),
        request.prevGeneration,
      );
      this.send(from, {
        kind: 'append-response',
        generation: this.generation,
        rejected: true,
        index: request.prevIndex,
        hintIndex,
        hintGeneration: this.log.generationAt(hintIndex) ?? 0,
        ...this.storageIdField(),
      });
      return;
    }
    for (const entry of request.entries) {
      if (entry.index <= this.log.compactedIndex) continue;
      const existing = this.log.generationAt(entry.index);
      if (existing === entry.generation) continue; // already held: a duplicate or reordered append
      if (existing !== undefined) {
        // Rule 4: truncate only on a real conflict, and never a committed entry.
        if (entry.index <= this.highWaterMark) {
          throw new SafetyViolationError(
            `conflict at ${entry.index} (generation ${existing} vs ${entry.generation}) at or below high-water mark ${this.highWaterMark}`,
          );
        }
        this.truncateAfter(entry.index - 1);
      }
      this.log.append(entry);
    }
    const lastNewIndex = request.prevIndex + request.entries.length;
    this.commitTo(Math.min(request.highWaterMark, lastNewIndex));
    this.send(from, {
      kind: 'append-response',
      generation: this.generation,
      rejected: false,
      index: Math.max(lastNewIndex, this.log.compactedIndex),
      hintIndex: 0,
      hintGeneration: 0,
      ...this.storageIdField(),
    });
  }

  private handleHeartbeat(from: NodeId, heartbeat: Heartbeat): void {
    if (this.storageId !== undefined) {
      for (const { member, storageId } of heartbeat.storageIds ?? []) {
        // Only members not known yet: what this server saw itself is never overwritten.
        if (member === this.id || !this.progress.has(member)) continue;
        if (this.peerStorageIds.has(member)) continue;
        this.peerStorageIds.set(member, storageId);
        this.peerStorageIdsLearned.push({ member, storageId });
      }
    }
    // The leader caps the mark at what it knows this follower holds.
    this.commitTo(Math.min(heartbeat.highWaterMark, this.log.lastIndex));
    this.send(from, {
      kind: 'heartbeat-response',
      generation: this.generation,
      readRound: heartbeat.readRound,
      ...this.storageIdField(),
    });
  }

  private handleSnapshotChunk(from: NodeId, chunk: SnapshotChunk): void {
    let incoming = this.incomingSnapshot;
    const sameSnapshot =
      incoming !== undefined &&
      incoming.leaderGeneration === chunk.generation &&
      incoming.index === chunk.snapshotIndex &&
      incoming.generation === chunk.snapshotGeneration &&
      incoming.totalBytes === chunk.totalBytes;
    if (!sameSnapshot) {
      incoming = undefined;
      this.incomingSnapshot = undefined;
      if (chunk.offset === 0) {
        incoming = {
          leaderGeneration: chunk.generation,
          index: chunk.snapshotIndex,
          generation: chunk.snapshotGeneration,
          totalBytes: chunk.totalBytes,
          received: 0,
        };
        this.incomingSnapshot = incoming;
      }
    }
    if (incoming === undefined) {
      this.sendSnapshotResponse(from, chunk.snapshotIndex, 0, 0, true);
      return;
    }
    if (
      chunk.offset === incoming.received &&
      chunk.data.length > 0 &&
      chunk.offset + chunk.data.length <= incoming.totalBytes
    ) {
      this.snapshotChunksToStore.push({
        snapshotIndex: incoming.index,
        snapshotGeneration: incoming.generation,
        offset: chunk.offset,
        totalBytes: incoming.totalBytes,
        data: chunk.data,
      });
      incoming.received += chunk.data.length;
    }
    if (incoming.received < incoming.totalBytes) {
      this.sendSnapshotResponse(from, chunk.snapshotIndex, incoming.received, 0, false);
      return;
    }
    this.incomingSnapshot = undefined;
    const installedIndex = this.installSnapshot({
      index: incoming.index,
      generation: incoming.generation,
      sizeBytes: incoming.totalBytes,
    });
    this.sendSnapshotResponse(from, chunk.snapshotIndex, incoming.received, installedIndex, false);
  }

  /** Installs a leader's snapshot; returns the index the follower now matches through. */
  private installSnapshot(snapshot: SnapshotMetadata): number {
    if (snapshot.index <= this.highWaterMark) return this.highWaterMark;
    if (this.log.matches(snapshot.index, snapshot.generation)) {
      // We already hold the entries; just learn that they are committed.
      this.commitTo(snapshot.index);
      return snapshot.index;
    }
    this.log.resetTo(snapshot.index, snapshot.generation);
    this.latestSnapshot = snapshot;
    this.snapshotToInstall = snapshot;
    this.highWaterMark = snapshot.index;
    this.applyCursor = snapshot.index;
    this.appliedIndex = Math.max(this.appliedIndex, snapshot.index);
    this.durableIndex = snapshot.index;
    this.handedOutIndex = snapshot.index;
    return snapshot.index;
  }

  private sendSnapshotResponse(
    to: NodeId,
    snapshotIndex: number,
    nextOffset: number,
    installedIndex: number,
    rejected: boolean,
  ): void {
    const response: SnapshotResponse = {
      kind: 'snapshot-response',
      generation: this.generation,
      snapshotIndex,
      nextOffset,
      installedIndex,
      rejected,
    };
    this.send(to, response);
  }

  private truncateAfter(index: number): void {
    this.log.truncateAfter(index);
    if (this.handedOutIndex > index) this.handedOutIndex = index;
    if (this.durableIndex > index) this.durableIndex = index;
  }

  private commitTo(index: number): void {
    if (index > this.highWaterMark) this.highWaterMark = index;
  }

  // ---------------------------------------------------------------------------------------------
  // Leader side of replication
  // ---------------------------------------------------------------------------------------------

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const progress of this.progress.values()) {
      progress.ticksSinceResponse++;
      if (progress.state === 'snapshot') progress.ticksSinceSnapshotProgress++;
    }
    if (this.electionElapsed >= this.electionTimeoutTicks) {
      this.electionElapsed = 0;
      // Rule 6, check-quorum: a leader that has not heard from a majority steps down.
      if (!this.heardFromMajority()) {
        this.becomeFollower(this.generation, undefined);
        return;
      }
      for (const progress of this.progress.values()) progress.recentlyActive = false;
      this.transferTarget = undefined;
    }
    if (this.heartbeatElapsed >= this.heartbeatIntervalTicks) {
      this.heartbeatElapsed = 0;
      this.heartbeatBroadcastPending = true;
    }
  }

  private heardFromMajority(): boolean {
    let active = 1;
    for (const progress of this.progress.values()) {
      if (progress.recentlyActive && !progress.lostAcknowledgedEntries) active++;
    }
    return active >= majority(this.memberCount);
  }

  private appendToOwnLog(kind: LogEntry['kind'], command: Uint8Array): number {
    const index = this.log.lastIndex + 1;
    this.log.append({ index, generation: this.generation, kind, command });
    this.appendBroadcastPending = true;
    // A single-server cluster commits as soon as its own write is durable.
    return index;
  }

  /** Sends what accumulated since the last Ready: one batched append per follower, reads, beats. */
  private flushLeaderSends(): void {
    if (this.reads.startRound(this.highWaterMark)) this.heartbeatBroadcastPending = true;
    if (this.appendBroadcastPending) {
      this.appendBroadcastPending = false;
      for (const [peer, progress] of this.progress) this.sendAppend(peer, progress);
    }
    if (this.heartbeatBroadcastPending) {
      this.heartbeatBroadcastPending = false;
      for (const [peer, progress] of this.progress) this.sendHeartbeat(peer, progress);
    }
  }

  private sendHeartbeat(peer: NodeId, progress: FollowerProgress): void {
    const heartbeat: Heartbeat = {
      kind: 'heartbeat',
      generation: this.generation,
      highWaterMark: Math.min(progress.matchIndex, this.highWaterMark),
      readRound: this.reads.round,
      ...this.storageIdTable(),
    };
    this.send(peer, heartbeat);
  }

  /**
   * Sends the follower its next batches of entries (as many as its in-flight window allows), or a
   * snapshot when it is behind the low-water mark. With `evenIfEmpty`, an empty append probes a
   * follower whose answers may have been lost.
   */
  private sendAppend(peer: NodeId, progress: FollowerProgress, evenIfEmpty = false): void {
    let sendEmpty = evenIfEmpty;
    while (!progress.paused) {
      const prevIndex = progress.nextIndex - 1;
      const prevGeneration = this.log.generationAt(prevIndex);
      if (prevGeneration === undefined) {
        if (prevIndex < this.log.compactedIndex) this.startSnapshot(peer, progress);
        return;
      }
      const entries = this.log.slice(progress.nextIndex, this.log.lastIndex, this.maxAppendBytes);
      // In replicate state an empty append carries nothing the heartbeats do not.
      if (entries.length === 0 && progress.state === 'replicate' && !sendEmpty) return;
      sendEmpty = false;
      const request: AppendRequest = {
        kind: 'append',
        generation: this.generation,
        prevIndex,
        prevGeneration,
        entries,
        highWaterMark: this.highWaterMark,
      };
      progress.sentAppend(prevIndex + entries.length, entries.length);
      this.send(peer, request);
      if (progress.state !== 'replicate' || progress.nextIndex > this.log.lastIndex) return;
    }
  }

  private startSnapshot(peer: NodeId, progress: FollowerProgress): void {
    const snapshot = this.latestSnapshot;
    if (snapshot === undefined) return;
    progress.becomeSnapshot(snapshot.index);
    this.sendSnapshotChunk(peer, progress, snapshot);
  }

  /** Asks the driver to read the follower's next chunk from the durable snapshot and send it. */
  private sendSnapshotChunk(
    peer: NodeId,
    progress: FollowerProgress,
    snapshot: SnapshotMetadata,
  ): void {
    const offset = progress.snapshotOffset;
    const end = Math.min(offset + this.snapshotChunkBytes, snapshot.sizeBytes);
    progress.ticksSinceSnapshotProgress = 0;
    this.snapshotChunksToSend.push({
      to: peer,
      generation: this.generation,
      snapshotIndex: snapshot.index,
      snapshotGeneration: snapshot.generation,
      offset,
      length: Math.max(0, end - offset),
      totalBytes: snapshot.sizeBytes,
    });
  }

  private sendTimeoutNow(peer: NodeId): void {
    this.send(peer, { kind: 'timeout-now', generation: this.generation });
  }

  private handleAppendResponse(
    from: NodeId,
    progress: FollowerProgress,
    response: AppendResponse,
  ): void {
    if (response.rejected) {
      // Fast back-off: skip every entry the follower's hint shows cannot match.
      const nextProbe =
        response.hintGeneration > 0
          ? this.log.lastIndexWithGenerationAtMost(response.hintIndex, response.hintGeneration)
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
    if (this.transferTarget === from && progress.matchIndex === this.log.lastIndex) {
      this.sendTimeoutNow(from);
    }
    this.sendAppend(from, progress);
  }

  private handleHeartbeatResponse(
    from: NodeId,
    progress: FollowerProgress,
    response: HeartbeatResponse,
  ): void {
    if (response.readRound > progress.readRoundAcknowledged) {
      progress.readRoundAcknowledged = response.readRound;
      this.confirmReads();
    }
    if (progress.state === 'snapshot') {
      const snapshot = this.latestSnapshot;
      if (
        snapshot !== undefined &&
        progress.ticksSinceSnapshotProgress >= 2 * this.heartbeatIntervalTicks
      ) {
        // A chunk or its answer was lost: resend from where the follower last was.
        if (snapshot.index !== progress.snapshotIndex) progress.becomeSnapshot(snapshot.index);
        this.sendSnapshotChunk(from, progress, snapshot);
      }
      return;
    }
    if (progress.matchIndex < this.log.lastIndex) {
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
    const snapshot = this.latestSnapshot;
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
    const candidate = tracker.recordMatchIndex(member, matchIndex);
    if (candidate <= this.highWaterMark) return;
    this.highWaterMark = candidate;
    this.heartbeatBroadcastPending = true;
    if (!this.committedInCurrentGeneration) {
      this.committedInCurrentGeneration = true;
      for (const requestId of this.reads.takeDeferred()) this.readIndex(requestId);
    }
  }

  /** Permits every read whose round a majority (this leader included) has confirmed. */
  private confirmReads(): void {
    const needed = majority(this.memberCount);
    this.reads.confirm((round) => {
      let confirmations = 1;
      for (const progress of this.progress.values()) {
        if (progress.readRoundAcknowledged >= round && !progress.lostAcknowledgedEntries) {
          confirmations++;
        }
      }
      return confirmations >= needed;
    }, this.readsPermitted);
  }

  private refusePendingReads(): void {
    for (const requestId of this.reads.drain()) {
      this.readsRefused.push({ requestId, reason: 'leadership-lost', leaderId: this.leaderId });
    }
  }

  private hardStateChanged(): boolean {
    return (
      this.persistedHardState.generation !== this.generation ||
      this.persistedHardState.votedFor !== this.votedFor
    );
  }

  /** The identities a leader shares on heartbeats: its own and those it remembers. */
  private storageIdTable(): { storageIds?: MemberStorageId[] } {
    if (this.storageId === undefined) return {};
    const storageIds: MemberStorageId[] = [{ member: this.id, storageId: this.storageId }];
    for (const [member, storageId] of this.peerStorageIds) storageIds.push({ member, storageId });
    return { storageIds };
  }

  /** This server's storage identity as a message field (absent when it uses none). */
  private storageIdField(): { storageId?: string } {
    return this.storageId === undefined ? {} : { storageId: this.storageId };
  }

  /**
   * Storage identities (DESIGN.md §6, a forgetful member): a `storage-lost` naming our identity
   * stops this server; a message showing a peer's identity other than the one remembered is
   * answered with `storage-lost` and otherwise ignored (its vote or acknowledgement never
   * counts); an identity seen for the first time is remembered (the driver persists it).
   * Returns whether the message may be handled.
   * @throws MemberStorageLostError when a peer reports that this server's storage was replaced.
   */
  private checkStorageIdentity(from: NodeId, message: Message): boolean {
    if (message.kind === 'storage-lost') {
      if (message.storageId === this.storageId) {
        throw new MemberStorageLostError(
          this.id,
          'reported-by-peer',
          `${from} remembers this member with storage ${message.rememberedStorageId}, but this storage is ${message.storageId}: it was created after the member had voted or acknowledged entries`,
          from,
        );
      }
      return false;
    }
    if (
      (message.kind !== 'vote-request' &&
        message.kind !== 'vote-response' &&
        message.kind !== 'append-response' &&
        message.kind !== 'heartbeat-response') ||
      message.storageId === undefined
    ) {
      return true;
    }
    const remembered = this.peerStorageIds.get(from);
    if (remembered === undefined) {
      this.peerStorageIds.set(from, message.storageId);
      this.peerStorageIdsLearned.push({ member: from, storageId: message.storageId });
      return true;
    }
    if (remembered === message.storageId) return true;
    const lost: StorageLost = {
      kind: 'storage-lost',
      generation: this.generation,
      storageId: message.storageId,
      rememberedStorageId: remembered,
    };
    // Nothing of ours needs to be durable first: it carries no vote and no entry.
    this.messagesToSendNow.push({ to: from, message: lost });
    return false;
  }

  /** Reports a follower that lost acknowledged entries and stops counting it (see the type). */
  private followerLostEntries(
    member: NodeId,
    progress: FollowerProgress,
    rejectedIndex: number,
    nextProbe: number,
  ): void {
    this.lostAcknowledgedEntries.push({
      member,
      acknowledgedIndex: progress.matchIndex,
      rejectedIndex,
    });
    progress.forgetMatch(Math.min(rejectedIndex, nextProbe + 1));
    this.rebuildHighWaterMarkTracker();
    this.sendAppend(member, progress);
  }

  /**
   * Recounts the match indexes without the members that lost acknowledged entries: their earlier
   * acknowledgements no longer hold. The high-water mark itself never moves back.
   */
  private rebuildHighWaterMarkTracker(): void {
    if (this.highWaterMarkTracker === undefined) return;
    const tracker = new LeaderHighWaterMark({
      leader: this.id,
      followers: this.peers,
      generation: this.generation,
      generationOf: (index) => this.log.generationAt(index) ?? -1,
      highWaterMark: this.highWaterMark,
    });
    tracker.recordMatchIndex(this.id, this.durableIndex);
    for (const [peer, progress] of this.progress) {
      if (!progress.lostAcknowledgedEntries) tracker.recordMatchIndex(peer, progress.matchIndex);
    }
    this.highWaterMarkTracker = tracker;
  }

  /**
   * Queues a message. A leader's messages depend on nothing unpersisted except its own new
   * entries, which followers may store first; everything else waits for the Ready to be durable.
   * A leader's append that carries hollow entries (their bytes left memory) first asks the driver
   * to load them (`Ready.entriesToLoad`); the peer's later messages wait behind it, in order.
   */
  private send(to: NodeId, message: Message): void {
    let waiting = this.waitingForLoads.get(to);
    const load = message.kind === 'append' ? entriesToLoadFor(to, message.entries) : undefined;
    if ((waiting === undefined && load === undefined) || this.roleValue !== 'leader') {
      this.emit(to, message);
      return;
    }
    if (waiting === undefined) {
      waiting = [];
      this.waitingForLoads.set(to, waiting);
    }
    const last = waiting[waiting.length - 1];
    if (message.kind === 'heartbeat' && last?.message.kind === 'heartbeat') {
      last.message = message; // one heartbeat waiting is enough: the newest
      return;
    }
    waiting.push({ message, load, requested: false, answered: load === undefined, loaded: [] });
    this.requestNextLoad(waiting);
  }

  private emit(to: NodeId, message: Message): void {
    if (this.roleValue === 'leader') this.messagesToSendNow.push({ to, message });
    else this.messagesAfterPersist.push({ to, message });
  }

  /** Asks the driver for the first load of a peer's waiting messages, once (one at a time). */
  private requestNextLoad(waiting: WaitingMessage[]): void {
    const next = waiting.find((item) => !item.answered);
    if (next?.load === undefined || next.requested) return;
    next.requested = true;
    this.entriesToLoad.push(next.load);
  }

  /**
   * The driver's answer to an {@link EntriesToLoad}: the entries `from..to` read from the log, or
   * undefined when the log no longer holds them all (the append is dropped, as a lossy network
   * would drop it). Emits the peer's messages that waited for it, in order.
   * @throws Error when a loaded entry differs in size from the one it stands for (a damaged log).
   */
  entriesLoaded(load: EntriesToLoad, loaded: readonly LogEntry[] | undefined): void {
    const waiting = this.waitingForLoads.get(load.peer);
    const item = waiting?.find((candidate) => candidate.load === load);
    if (waiting === undefined || item === undefined) return;
    item.answered = true;
    item.loaded = loaded;
    while (waiting[0]?.answered === true) {
      const head = waiting.shift()!;
      const message = head.load === undefined ? head.message : withLoadedEntries(head, head.load);
      if (message !== undefined) this.emit(load.peer, message);
    }
    if (waiting.length === 0) this.waitingForLoads.delete(load.peer);
    else this.requestNextLoad(waiting);
  }
}

/** A message waiting behind (or for) entries the driver loads. */
interface WaitingMessage {
  message: Message;
  readonly load: EntriesToLoad | undefined;
  requested: boolean;
  answered: boolean;
  /** The driver's answer (undefined: the log no longer holds the entries). */
  loaded: readonly LogEntry[] | undefined;
}

/** The load an append's hollow entries need, or undefined when it carries none. */
function entriesToLoadFor(peer: NodeId, entries: readonly LogEntry[]): EntriesToLoad | undefined {
  let from = 0;
  let to = 0;
  let bytes = 0;
  for (const entry of entries) {
    if (!isHollowEntry(entry)) continue;
    if (from === 0) from = entry.index;
    to = entry.index;
    bytes += commandBytesOf(entry);
  }
  return from === 0 ? undefined : { peer, from, to, bytes };
}

/** The waiting append with its hollow entries replaced by the loaded ones, or undefined if any is missing. */
function withLoadedEntries(waiting: WaitingMessage, load: EntriesToLoad): Message | undefined {
  const append = waiting.message;
  if (append.kind !== 'append' || waiting.loaded === undefined) return undefined;
  const entries: LogEntry[] = [];
  for (const entry of append.entries) {
    if (!isHollowEntry(entry)) {
      entries.push(entry);
      continue;
    }
    const copy = waiting.loaded[entry.index - load.from];
    if (copy?.index !== entry.index || copy.generation !== entry.generation) return undefined;
    if (copy.command.length !== entry.hollowCommandBytes) {
      throw new Error(
        `entry ${entry.index} loaded with ${copy.command.length} bytes, expected ${entry.hollowCommandBytes}`,
      );
    }
    entries.push(copy);
  }
  return { ...append, entries };
}
