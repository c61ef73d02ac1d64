import { FileGenerationStore } from '@x/generation-clock';
import { WalClosedError, WriteAheadLog } from '@x/wal';
import type { FileSystem, WalEntry, WriteAheadLogOptions } from '@x/wal';
import type {
  CoverageMark,
  FailureDetectorKind,
  CoreStatus,
  FollowerStatus,
  Random,
  Ready,
  SnapshotChunkToSend,
  SnapshotChunkToStore,
} from './core-types.js';
import {
  IndeterminateOutcomeError,
  MemberStorageLostError,
  NoQuorumError,
  NodeStoppedError,
  NotLeaderError,
  ProposalDroppedError,
  ProposalTooLargeError,
} from './errors.js';
import { LeaderFollowerCore } from './leader-follower-core.js';
import { isHollowEntry } from './log-entry.js';
import type { HardState, LogEntry, SnapshotData, SnapshotMetadata } from './log-entry.js';
import { decodeMessage, encodeMessage } from './message-codec.js';
import type { AppendRequest, Message, NodeId, OutboundMessage } from './messages.js';
import { SnapshotFile, type StoredSnapshot } from './snapshot-file.js';
import { decodeMemberState, encodeMemberState, type MemberState } from './member-state.js';

/** Monotonic time in milliseconds (never wall time). */
export interface Clock {
  now(): number;
}

/** Callbacks on (real or virtual) time. Handles are opaque. */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** A pino-compatible logger subset; the default is a no-op. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** One-way, per-peer ordered, lossy messaging (implemented by @x/transport-tcp and @x/simulation). */
export interface Transport {
  send(to: string, type: number, payload: Uint8Array): void;
  onMessage(handler: (from: string, type: number, payload: Uint8Array) => void): void;
}

/** The user's replicated state machine. Called in log order, from one logical thread. */
export interface StateMachine {
  /**
   * Applies a committed command; the return value resolves the proposer's promise.
   *
   * `awaited` is true when this node proposed the entry and its proposer still waits for the
   * result (the promise of {@link LeaderFollowerNode.propose}), false on every other member and
   * after the proposal timed out or was replaced. The state must not depend on it: it lets a
   * state machine skip building a result nobody will read (every member applies every entry).
   */
  apply(index: number, command: Uint8Array, awaited: boolean): unknown;
  /**
   * The whole state as of the last applied index: one buffer, or chunks that the node writes to
   * disk one at a time as it iterates them, so that a large state is never held whole. Chunks
   * may be produced lazily, but the state must be captured when this is called: commands
   * applied while the node is still iterating must not change what the chunks hold.
   */
  snapshot(): SnapshotData;
  /** Replaces the whole state with a snapshot that covers everything through `index`. */
  restore(snapshot: Uint8Array, index: number): void;
  /**
   * Optional streaming form of {@link restore}: when present, the node hands the stored
   * snapshot over as chunks read from disk (in order, about 1 MiB each) and never holds it
   * whole. The checksum covers the whole snapshot, so the iteration throws
   * `SnapshotCorruptionError` after the last chunk when it fails: replace the state only once
   * the iteration has ended without error, and read it to the end (the node fails otherwise).
   */
  restoreChunks?(chunks: AsyncIterable<Uint8Array>, index: number): Promise<void>;
}

/**
 * Hooks a node calls as it works, for metrics and operators' tools (a library never depends on a
 * metrics client). Every hook is optional, called synchronously, and must not throw or call back
 * into the node. Durations are in milliseconds on the node's {@link Clock}.
 */
export interface NodeObserver {
  /** Entries appended to the local log became durable; `durationMs` from append to fdatasync. */
  logSynced?(entryCount: number, durationMs: number): void;
  /** The state machine applied the command at `index` in `durationMs`. */
  commandApplied?(index: number, durationMs: number): void;
  /** The state machine now stands at `index` (entries applied or a snapshot installed). */
  appliedThrough?(index: number): void;
  /** The leader this node knows of changed; `undefined` while no leader is known. */
  leaderChanged?(leaderId: NodeId | undefined, generation: number): void;
  /** A snapshot through `index` of `sizeBytes` was made durable, taken here or installed from the leader. */
  snapshotSaved?(index: number, sizeBytes: number, source: 'taken' | 'installed'): void;
  /**
   * On the leader: `member` rejected an append at or below `acknowledgedIndex`, which it had
   * acknowledged: it lost acknowledged entries (a forgetful member) and is no longer counted for
   * quorum while this node leads. The node also logs it once, at error level.
   */
  lostAcknowledgedEntries?(member: NodeId, acknowledgedIndex: number): void;
}

/** Options of {@link LeaderFollowerNode.open}. Times are in milliseconds. */
export interface LeaderFollowerNodeOptions {
  readonly id: NodeId;
  /** Every member, this node included. Static. */
  readonly members: readonly NodeId[];
  readonly transport: Transport;
  readonly stateMachine: StateMachine;
  readonly fileSystem: FileSystem;
  /** Directory for the log, the vote and snapshots; locked while open. */
  readonly dataDirectory: string;
  readonly clock: Clock;
  readonly timers: Timers;
  /** Election-timeout jitter. */
  readonly random: Random;
  readonly logger?: Logger;
  /** Hooks for metrics (fsync and apply durations, leader changes, applied index). */
  readonly observer?: NodeObserver;
  /**
   * Called once if the node fails stop: a storage error, a safety violation, or
   * {@link MemberStorageLostError} when a peer reports that this member's storage was replaced.
   * The node has stopped (and logged the error once); the process should exit.
   */
  readonly onFatalError?: (error: unknown) => void;
  /**
   * Record the index this member durably acknowledged (see the README: a forgetful member) each
   * time it has moved this many entries, besides every generation or vote change. Each record
   * costs one small atomic file write, so this bounds that cost to one per this many entries; a
   * log found shorter than the recorded index on open is refused. Default 1024.
   */
  readonly recordAcknowledgedEveryEntries?: number;
  /** One tick in milliseconds: the resolution of every timeout below. Default 100. */
  readonly tickMs?: number;
  /**
   * Ticks between leader heartbeats. Default 1. Shorter ticks with several per heartbeat give the
   * randomized election timeout a finer grain, so two followers rarely time out on the same tick.
   */
  readonly heartbeatIntervalTicks?: number;
  /** The failure detector of the core (see `CoreOptions.failureDetector`). Default `fixed`. */
  readonly failureDetector?: FailureDetectorKind;
  /** The core's coverage marks (see `CoreOptions.onCoverage`), for tests and simulations. */
  readonly onCoverage?: (mark: CoverageMark) => void;
  /**
   * Whether this node, once started, campaigns after [heartbeat interval, election timeout)
   * instead of [election timeout, 2x) when it hears no leader (see the core's option of the same
   * name): a restarted cluster elects a leader about an election timeout sooner. Default true.
   */
  readonly advanceFirstElection?: boolean;
  /** Election timeout in ticks, randomized in [t, 2t). Default 10 (1000-2000 ms at 100 ms ticks). */
  readonly electionTimeoutTicks?: number;
  /** Largest command accepted. Default 1 MiB. */
  readonly maxCommandBytes?: number;
  /** How long a proposal may wait before it fails as indeterminate. Default 5000. */
  readonly proposalTimeoutMs?: number;
  /** How long a linearizable read may wait for confirmation. Default 5000. */
  readonly readTimeoutMs?: number;
  /** Take a snapshot once this many entries were applied since the last one. Default 10000. */
  readonly snapshotEveryEntries?: number;
  /** Entries kept in the log below a snapshot, to spare slightly-behind followers a snapshot. Default 1000. */
  readonly retainEntriesAfterSnapshot?: number;
  /** Appends in flight per follower. Default 64. */
  readonly maxInflightAppends?: number;
  /** Command bytes per append message. Default 1 MiB. */
  readonly maxAppendBytes?: number;
  /** Snapshot bytes per message. Default 256 KiB. */
  readonly snapshotChunkBytes?: number;
  /**
   * The payload window, in bytes: the in-memory log keeps the command bytes of at most this many
   * bytes of the most recent entries once they are applied and durable, and drops the older
   * ones' (entries not yet applied or durable always keep theirs). Appends to a follower that
   * lags behind the window are refilled from the write-ahead log before they are sent. Default
   * 16 MiB; 0 keeps no payload once applied and durable; `Infinity` keeps every payload until
   * the snapshot compacts the log.
   */
  readonly payloadCacheBytes?: number;
  /**
   * Write-ahead log tuning: segment size, and durability (anything but the default `group` is
   * unsafe outside tests).
   */
  readonly wal?: Pick<WriteAheadLogOptions, 'durability' | 'maxSegmentBytes' | 'syncIntervalMs'>;
}

/** The leader's view of one follower, with its last answer's age in milliseconds. */
export interface NodeFollowerStatus extends FollowerStatus {
  /** Milliseconds (to the tick) since the follower last answered. */
  readonly lastResponseAgeMs: number;
}

/** A node's status for operators: the core's view plus times in milliseconds. */
export interface NodeStatus extends CoreStatus {
  readonly followers: readonly NodeFollowerStatus[];
  /** Milliseconds since this node last heard from a leader (0 on the leader). */
  readonly lastHeartbeatAgeMs: number;
  /** Proposals waiting to be applied here. */
  readonly pendingProposals: number;
}

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

const ENTRY_TYPE_EMPTY = 0;
const ENTRY_TYPE_COMMAND = 1;
const DEFAULT_PAYLOAD_CACHE_BYTES = 16 * 1024 * 1024;
const DEFAULT_RECORD_ACKNOWLEDGED_EVERY_ENTRIES = 1024;
const LOG_DIRECTORY_PREFIX = 'log-';

const noObserver: NodeObserver = {};

const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * A replicated-log server: binds the deterministic {@link LeaderFollowerCore} to a write-ahead
 * log (group commit), a transport, timers and a state machine.
 *
 * Storage layout in `dataDirectory`: `generation` (generation and vote, replaced atomically by
 * @x/generation-clock's file store), `snapshot` (the latest snapshot, replaced atomically) and
 * `log-<firstIndex>/` (the write-ahead log; entries are records with their index, generation and
 * kind). Installing a snapshot from the leader starts a fresh `log-<snapshotIndex + 1>/`.
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
  /** Set while the state machine restores an installed snapshot (nothing may be applied). */
  private restoring = false;
  /** Readies whose applies wait on the completion chain; later applies must wait too. */
  private deferredApplies = 0;
  private tickTimer: unknown;
  /** When the next tick is due on the clock (ms); ticks keep to this schedule. */
  private nextTickAt = Number.NEGATIVE_INFINITY;
  private flushScheduled = false;
  private completionTail: Promise<void> = Promise.resolve();
  private hardStateTail: Promise<void> = Promise.resolve();
  /** Snapshot-file work (saves, chunk reads and writes, installs), one at a time, in order. */
  private snapshotFileTail: Promise<unknown> = Promise.resolve();
  /** The snapshot the file holds now (chunk requests for another one are dropped). */
  private savedSnapshot: SnapshotMetadata | undefined;
  /**
   * Installed snapshots, opened for reading, from their durable install until the state machine
   * restores them.
   */
  private readonly snapshotsToRestore = new Map<number, StoredSnapshot>();
  /** Set while storage is being rebuilt (snapshot install): later writes wait for it. */
  private storageTail: Promise<void> | undefined;
  private started = false;
  private stopped: Error | undefined;
  private lastLeaderContact: number;
  private lastRole: CoreStatus['role'] = 'follower';
  private lastLeader: NodeId | undefined;
  /** The error the node failed stop with (not set by `close`). */
  private failedWith: Error | undefined;
  private readonly recordAcknowledgedEveryEntries: number;
  /** The generation and vote last handed to storage (written again with every member-state record). */
  private currentHardState: HardState;
  /** This member's storage identity, its peers' and what it recorded as acknowledged. */
  private memberState: MemberState;
  /** A member-state record is queued and has not started: later changes join it. */
  private memberStateWriteQueued = false;

  private constructor(
    private readonly options: LeaderFollowerNodeOptions,
    private wal: WriteAheadLog,
    private readonly generationStore: FileGenerationStore,
    private readonly snapshotFile: SnapshotFile,
    initial: {
      hardState: HardState;
      snapshot: SnapshotMetadata | undefined;
      entries: LogEntry[];
      memberState: MemberState;
    },
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
    this.appliedIndex = initial.snapshot?.index ?? 0;
    this.snapshotIndex = this.appliedIndex;
    this.lastLeaderContact = options.clock.now();
    this.savedSnapshot = initial.snapshot;
    this.currentHardState = initial.hardState;
    this.memberState = initial.memberState;
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
      ...(initial.snapshot === undefined ? {} : { snapshot: initial.snapshot }),
      advanceFirstElection: options.advanceFirstElection ?? true,
      ...(options.electionTimeoutTicks === undefined
        ? {}
        : { electionTimeoutTicks: options.electionTimeoutTicks }),
      ...(options.heartbeatIntervalTicks === undefined
        ? {}
        : { heartbeatIntervalTicks: options.heartbeatIntervalTicks }),
      ...(options.failureDetector === undefined
        ? {}
        : { failureDetector: options.failureDetector }),
      ...(options.onCoverage === undefined ? {} : { onCoverage: options.onCoverage }),
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
   * Opens the node's storage and recovers: restores the state machine from the latest snapshot
   * and loads the log after it. Does not start ticking or receiving; call {@link start}.
   * @throws WalLockedError when another process holds the data directory; corruption errors from
   *   the log, the generation file or the snapshot file; {@link MemberStorageLostError} when the
   *   storage no longer holds what this member acknowledged (a forgetful member: its log
   *   directory is missing, its log ends before the index it recorded as acknowledged or does
   *   not continue its snapshot, or a peer reported its storage replaced in an earlier run).
   */
  static async open(options: LeaderFollowerNodeOptions): Promise<LeaderFollowerNode> {
    const fileSystem = options.fileSystem;
    const directory = options.dataDirectory;
    await fileSystem.mkdir(directory);
    const generationStore = new FileGenerationStore({ fileSystem, directory });
    const snapshotFile = new SnapshotFile(fileSystem, directory);
    const saved = await generationStore.load();
    const memberState =
      saved?.attachment === undefined
        ? undefined
        : decodeMemberState(saved.attachment, generationStore.path);
    if (memberState?.lostReportedBy !== undefined) {
      throw new MemberStorageLostError(
        options.id,
        'marked-lost',
        `an earlier run stopped because ${memberState.lostReportedBy} reported this member's storage (${memberState.storageId}) as replaced; recorded in ${generationStore.path}`,
        memberState.lostReportedBy,
      );
    }
    const snapshot = await snapshotFile.open();
    try {
      await snapshotFile.discardIncoming();
      return await LeaderFollowerNode.openWithSnapshot(options, generationStore, snapshotFile, {
        saved,
        memberState,
        snapshot,
      });
    } finally {
      await snapshot?.close();
    }
  }

  private static async openWithSnapshot(
    options: LeaderFollowerNodeOptions,
    generationStore: FileGenerationStore,
    snapshotFile: SnapshotFile,
    stored: {
      saved: { generation: number; votedFor?: string } | undefined;
      memberState: MemberState | undefined;
      snapshot: StoredSnapshot | undefined;
    },
  ): Promise<LeaderFollowerNode> {
    const { fileSystem, dataDirectory: directory } = options;
    const { saved, snapshot, memberState } = stored;
    const snapshotIndex = snapshot?.metadata.index ?? 0;
    const logDirectories = (await fileSystem.readdir(directory))
      .filter((name) => name.startsWith(LOG_DIRECTORY_PREFIX))
      .map((name) => Number(name.slice(LOG_DIRECTORY_PREFIX.length)))
      .filter((first) => Number.isSafeInteger(first))
      .sort((a, b) => a - b);
    const newest = logDirectories.at(-1);
    if (newest === undefined && memberState !== undefined) {
      // The log directory is created before anything is recorded beside the vote, and a new one
      // always before the old one is removed: it was deleted.
      throw new MemberStorageLostError(
        options.id,
        'log-missing',
        `${directory} holds this member's state (storage ${memberState.storageId}, acknowledged through ${memberState.acknowledgedIndex}) but no ${LOG_DIRECTORY_PREFIX}*/ log directory`,
      );
    }
    const walOptions = walOptionsOf(options);
    let wal: WriteAheadLog | undefined;
    let walFirstIndex = snapshotIndex + 1;
    if (newest !== undefined) {
      wal = await WriteAheadLog.open(`${directory}/${LOG_DIRECTORY_PREFIX}${newest}`, {
        ...walOptions,
        firstIndex: newest,
      });
      walFirstIndex = newest;
      if (wal.lastIndex < snapshotIndex) {
        // The log ends before the snapshot (a crash during a snapshot install, which renames the
        // snapshot into place before it starts the new log): start afresh after the snapshot.
        await wal.close();
        wal = undefined;
        walFirstIndex = snapshotIndex + 1;
      } else if (wal.firstIndex > snapshotIndex + 1) {
        const gap = `${directory}/${LOG_DIRECTORY_PREFIX}${newest} starts at entry ${wal.firstIndex} but the snapshot ends at ${snapshotIndex}`;
        await wal.close();
        throw new MemberStorageLostError(options.id, 'log-gap', gap);
      }
    }
    wal ??= await openFreshLog(fileSystem, directory, walFirstIndex, walOptions);
    const openedLog = wal;
    try {
      return await LeaderFollowerNode.recover(options, openedLog, walFirstIndex, {
        generationStore,
        snapshotFile,
        saved,
        memberState,
        snapshot,
      });
    } catch (error) {
      // Do not leave an abandoned log running (and failing) behind a failed start.
      await openedLog.close().catch(() => undefined);
      throw error;
    }
  }

  private static async recover(
    options: LeaderFollowerNodeOptions,
    wal: WriteAheadLog,
    walFirstIndex: number,
    stored: {
      generationStore: FileGenerationStore;
      snapshotFile: SnapshotFile;
      saved: { generation: number; votedFor?: string } | undefined;
      memberState: MemberState | undefined;
      snapshot: StoredSnapshot | undefined;
    },
  ): Promise<LeaderFollowerNode> {
    const { fileSystem, dataDirectory: directory } = options;
    const { generationStore, snapshotFile, saved, snapshot } = stored;
    const snapshotIndex = snapshot?.metadata.index ?? 0;
    await removeOtherLogs(fileSystem, directory, walFirstIndex);
    const entries: LogEntry[] = [];
    if (wal.lastIndex > snapshotIndex) {
      for await (const record of wal.entries(Math.max(wal.firstIndex, snapshotIndex + 1))) {
        entries.push({
          index: record.index,
          generation: record.generation,
          kind: record.type === ENTRY_TYPE_EMPTY ? 'empty' : 'command',
          command: record.payload,
        });
      }
    }
    if (wal.recovery.tornTail !== undefined) {
      options.logger?.info({ ...wal.recovery.tornTail }, 'torn tail repaired');
    }
    const lastIndex = Math.max(snapshotIndex, entries.at(-1)?.index ?? 0);
    const recorded = stored.memberState;
    if (recorded !== undefined && lastIndex < recorded.acknowledgedIndex) {
      throw new MemberStorageLostError(
        options.id,
        'log-shorter-than-acknowledged',
        `the log in ${directory}/${LOG_DIRECTORY_PREFIX}${walFirstIndex} ends at entry ${lastIndex} (snapshot ${snapshotIndex}), but this member recorded entries through ${recorded.acknowledgedIndex} as durably acknowledged in ${generationStore.path}`,
      );
    }
    // A generation below the log's newest entry (a log seeded by hand, or state from before the
    // generation was recorded) would let a new leader append entries of an older generation.
    const lastGeneration = Math.max(
      snapshot?.metadata.generation ?? 0,
      entries.at(-1)?.generation ?? 0,
    );
    const hardState: HardState =
      (saved?.generation ?? 0) >= lastGeneration
        ? { generation: saved?.generation ?? 0, votedFor: saved?.votedFor }
        : { generation: lastGeneration, votedFor: undefined };
    let memberState = recorded;
    if (memberState === undefined) {
      // New storage (or storage from before identities): its identity is durable before this
      // member sends anything, so peers can tell it from any storage it replaces.
      memberState = {
        storageId: newStorageId(options.random),
        acknowledgedIndex: 0,
        peerStorageIds: new Map(),
      };
      await generationStore.save(generationStateOf(hardState, memberState));
      options.logger?.info({ storageId: memberState.storageId }, 'storage identity created');
    } else if (hardState.generation !== (saved?.generation ?? 0)) {
      await generationStore.save(generationStateOf(hardState, memberState));
    }
    // Only the metadata is kept: the bytes stay in the snapshot file.
    if (snapshot !== undefined) {
      await restoreStateMachine(options.stateMachine, snapshot, options.logger ?? silentLogger);
    }
    return new LeaderFollowerNode(options, wal, generationStore, snapshotFile, {
      hardState,
      snapshot: snapshot?.metadata,
      entries,
      memberState,
    });
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
    await this.completionTail.catch(() => undefined);
    await this.hardStateTail.catch(() => undefined);
    await this.snapshotFileTail.catch(() => undefined);
    // Installed snapshots the state machine never got to restore (stopped first).
    for (const installed of this.snapshotsToRestore.values()) {
      await installed.close().catch(() => undefined);
    }
    this.snapshotsToRestore.clear();
    await this.wal.close();
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
        // Decided before persist() starts a snapshot install (which sets storageTail).
        const applyNow = this.mayApplyNow(ready);
        const durable = this.persist(ready);
        // A storage error stops the node at once (fail-stop), not only once the completion
        // chain, which may still wait for earlier work, reaches this Ready.
        durable.catch((error: unknown) => this.fail(error));
        this.completionTail = this.completionTail
          .then(() => durable)
          .then(() => this.afterPersist(ready))
          .catch((error: unknown) => this.fail(error));
        if (applyNow) {
          this.applyCommitted(ready);
        } else {
          this.deferredApplies++;
          this.completionTail = this.completionTail
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

  /** Starts making the Ready durable; WAL writes are issued now, in order (group commit). */
  private persist(ready: Ready): Promise<void> {
    if (ready.snapshotToInstall !== undefined || this.storageTail !== undefined) {
      const previous = this.storageTail ?? Promise.resolve();
      const next = previous.then(() => this.persistSerially(ready));
      this.storageTail = next;
      void next.then(
        () => {
          if (this.storageTail === next) this.storageTail = undefined;
        },
        () => undefined,
      );
      return next;
    }
    const steps: Promise<unknown>[] = [];
    if (ready.snapshotChunksToStore.length > 0) {
      steps.push(this.storeSnapshotChunks(ready.snapshotChunksToStore));
    }
    if (ready.hardState !== undefined) steps.push(this.saveHardState(ready.hardState));
    if (ready.entriesToPersist.length > 0) steps.push(this.appendEntries(ready.entriesToPersist));
    if (steps.length === 0) return Promise.resolve();
    return Promise.all(steps).then(() => undefined);
  }

  /** Writes received snapshot chunks to the incoming snapshot file, after earlier file work. */
  private storeSnapshotChunks(chunks: readonly SnapshotChunkToStore[]): Promise<unknown> {
    this.snapshotFileTail = this.snapshotFileTail.then(async () => {
      for (const chunk of chunks) await this.snapshotFile.writeIncoming(chunk.offset, chunk.data);
    });
    return this.snapshotFileTail;
  }

  /**
   * Reads a chunk of the durable snapshot and sends it (after earlier file work, so a snapshot
   * being replaced is never read half old, half new). A request for a snapshot the file no
   * longer holds is dropped; the core moves the follower on to the newer snapshot.
   */
  private sendSnapshotChunk(chunk: SnapshotChunkToSend): void {
    this.snapshotFileTail = this.snapshotFileTail.then(async () => {
      if (this.stopped !== undefined || this.savedSnapshot?.index !== chunk.snapshotIndex) return;
      const data = await this.snapshotFile.readRange(chunk.offset, chunk.length);
      if (this.stopped !== undefined) return;
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
    });
    this.snapshotFileTail.catch((error: unknown) => this.fail(error));
  }

  private async persistSerially(ready: Ready): Promise<void> {
    if (ready.snapshotChunksToStore.length > 0) {
      await this.storeSnapshotChunks(ready.snapshotChunksToStore);
    }
    const snapshot = ready.snapshotToInstall;
    if (snapshot !== undefined) {
      this.snapshotFileTail = this.snapshotFileTail.then(async () => {
        const installed = await this.snapshotFile.installIncoming(snapshot);
        this.savedSnapshot = snapshot;
        this.snapshotsToRestore.set(snapshot.index, installed);
      });
      await this.snapshotFileTail;
      const old = this.wal;
      await old.close();
      this.wal = await openFreshLog(
        this.options.fileSystem,
        this.options.dataDirectory,
        snapshot.index + 1,
        walOptionsOf(this.options),
      );
      await removeOtherLogs(
        this.options.fileSystem,
        this.options.dataDirectory,
        snapshot.index + 1,
      );
    }
    const steps: Promise<unknown>[] = [];
    if (ready.hardState !== undefined) steps.push(this.saveHardState(ready.hardState));
    if (ready.entriesToPersist.length > 0) steps.push(this.appendEntries(ready.entriesToPersist));
    await Promise.all(steps);
  }

  private saveSnapshot(snapshot: {
    index: number;
    generation: number;
    data: SnapshotData;
  }): Promise<SnapshotMetadata> {
    const saved = this.snapshotFileTail.then(() => {
      // Never move the file back: a leader's newer snapshot may have been installed meanwhile.
      const current = this.savedSnapshot;
      if (current !== undefined && current.index >= snapshot.index) return current;
      return this.snapshotFile.save(snapshot);
    });
    // The caller handles a failed save (fail-stop); the tail only orders later file work, so it
    // must not carry the rejection again, unobserved.
    this.snapshotFileTail = saved.then(
      (metadata) => {
        this.savedSnapshot = metadata;
      },
      () => undefined,
    );
    return saved;
  }

  private saveHardState(hardState: HardState): Promise<void> {
    this.currentHardState = hardState;
    return this.writeGenerationFile();
  }

  /**
   * Writes the generation file: the current generation and vote with the member state beside
   * them, the acknowledged index refreshed. After earlier writes; one atomic, durable write.
   */
  private writeGenerationFile(): Promise<void> {
    this.hardStateTail = this.hardStateTail.then(async () => {
      this.memberStateWriteQueued = false;
      this.memberState = {
        ...this.memberState,
        acknowledgedIndex: this.recordableAcknowledgedIndex(),
      };
      await this.generationStore.save(generationStateOf(this.currentHardState, this.memberState));
    });
    return this.hardStateTail;
  }

  /**
   * The acknowledged index that may be recorded now: the core's (durable and known committed),
   * not moved while a snapshot install is under way (the core counts the snapshot as durable
   * before its file is in place), and never lower than recorded.
   */
  private recordableAcknowledgedIndex(): number {
    const recorded = this.memberState.acknowledgedIndex;
    if (this.storageTail !== undefined) return recorded;
    return Math.max(recorded, this.core.acknowledgedIndex);
  }

  /** Records the member state (new peer identities, a moved acknowledged index) soon. */
  private recordMemberState(): void {
    if (this.memberStateWriteQueued) return;
    this.memberStateWriteQueued = true;
    this.writeGenerationFile().catch((error: unknown) => this.fail(error));
  }

  /** Records the acknowledged index once it moved `recordAcknowledgedEveryEntries` entries. */
  private maybeRecordAcknowledged(): void {
    if (
      this.core.acknowledgedIndex - this.memberState.acknowledgedIndex >=
      this.recordAcknowledgedEveryEntries
    ) {
      this.recordMemberState();
    }
  }

  /** Remembers peers' identities seen for the first time and reports forgetful followers. */
  private noteMembers(ready: Ready): void {
    if (ready.peerStorageIdsLearned.length > 0) {
      const peerStorageIds = new Map(this.memberState.peerStorageIds);
      for (const { member, storageId } of ready.peerStorageIdsLearned) {
        peerStorageIds.set(member, storageId);
        this.logger.info({ member, storageId }, 'peer storage identity recorded');
      }
      this.memberState = { ...this.memberState, peerStorageIds };
      this.recordMemberState();
    }
    for (const lost of ready.lostAcknowledgedEntries) {
      this.logger.error(
        { ...lost },
        'follower lost acknowledged entries; it is not counted for quorum while this node leads',
      );
      this.observer.lostAcknowledgedEntries?.(lost.member, lost.acknowledgedIndex);
    }
  }

  private appendEntries(entries: readonly LogEntry[]): Promise<number> {
    for (const entry of entries) {
      if (isHollowEntry(entry)) throw new Error(`entry ${entry.index} to persist has no bytes`);
    }
    const first = entries[0];
    if (first !== undefined && first.index <= this.wal.lastIndex) {
      // A conflicting suffix: the WAL makes the truncation durable before the appends that follow.
      this.logger.info({ from: first.index }, 'divergent suffix truncated');
      void this.wal.truncateSuffix(first.index).catch((error: unknown) => this.fail(error));
    }
    const started = this.options.clock.now();
    const durable = this.wal.appendAll(
      entries.map((entry) => ({
        index: entry.index,
        generation: entry.generation,
        type: entry.kind === 'empty' ? ENTRY_TYPE_EMPTY : ENTRY_TYPE_COMMAND,
        payload: entry.command,
      })),
    );
    if (this.observer.logSynced === undefined) return durable;
    return durable.then((lastIndex) => {
      this.observer.logSynced?.(entries.length, this.options.clock.now() - started);
      return lastIndex;
    });
  }

  /**
   * Whether a Ready's committed entries may be applied at once instead of after its persistence:
   * they are durable here already, no snapshot install is under way and no earlier apply waits
   * (applies stay in log order). On a leader this is the usual case, so commits are applied
   * without waiting for the fsync of entries proposed since (which would add an fsync of latency).
   */
  private mayApplyNow(ready: Ready): boolean {
    if (
      ready.snapshotToInstall !== undefined ||
      this.storageTail !== undefined ||
      this.deferredApplies > 0 ||
      this.restoring
    ) {
      return false;
    }
    const last = ready.committedEntries[ready.committedEntries.length - 1];
    // The core's durable index, not the log's: it already excludes a suffix being replaced.
    return last === undefined || last.index <= this.core.durableLogIndex;
  }

  /**
   * After the Ready is durable: answer peers, report durability, install a snapshot (resolves
   * once the state machine has restored it; later applies wait for that).
   */
  private async afterPersist(ready: Ready): Promise<void> {
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
      const installed = this.snapshotsToRestore.get(snapshot.index);
      this.snapshotsToRestore.delete(snapshot.index);
      if (installed === undefined) throw new Error(`snapshot ${snapshot.index} was not installed`);
      this.restoring = true;
      try {
        await restoreStateMachine(this.options.stateMachine, installed, this.logger);
      } finally {
        this.restoring = false;
        await installed.close();
      }
      if (this.stopped !== undefined) return;
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
    void this.saveSnapshot(snapshot)
      .then(async (metadata) => {
        this.snapshotting = false;
        if (this.stopped !== undefined) return;
        this.snapshotIndex = index;
        this.core.snapshotTaken(metadata, this.retainEntriesAfterSnapshot);
        this.logger.info({ index, bytes: metadata.sizeBytes }, 'snapshot taken');
        this.observer.snapshotSaved?.(index, metadata.sizeBytes, 'taken');
        await this.wal.releaseBelow(Math.max(1, index - this.retainEntriesAfterSnapshot));
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
    const wal = this.wal;
    let records: WalEntry[];
    try {
      records = await wal.readRange(from, to);
    } catch (error) {
      // RangeError: no longer in the log. A log closed or replaced (snapshot install) meanwhile
      // is not a storage failure either.
      if (
        error instanceof RangeError ||
        error instanceof WalClosedError ||
        wal !== this.wal ||
        this.stopped !== undefined
      ) {
        return undefined;
      }
      throw error;
    }
    const filled = entries.slice();
    for (let position = first; position <= last; position++) {
      const entry = entries[position];
      if (entry === undefined || !isHollowEntry(entry)) continue;
      const record = records[entry.index - from];
      if (record?.index !== entry.index || record.generation !== entry.generation) {
        return undefined;
      }
      if (record.payload.length !== entry.hollowCommandBytes) {
        throw new Error(
          `entry ${entry.index} read back with ${record.payload.length} bytes, expected ${entry.hollowCommandBytes}`,
        );
      }
      filled[position] = {
        index: entry.index,
        generation: entry.generation,
        kind: entry.kind,
        command: record.payload,
      };
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
      this.memberState = { ...this.memberState, lostReportedBy: failure.reportedBy ?? '?' };
      void this.writeGenerationFile()
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
  stored: StoredSnapshot,
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

function walOptionsOf(options: LeaderFollowerNodeOptions): WriteAheadLogOptions {
  return {
    ...options.wal,
    fileSystem: options.fileSystem,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  };
}

async function openFreshLog(
  fileSystem: FileSystem,
  directory: string,
  firstIndex: number,
  options: WriteAheadLogOptions,
): Promise<WriteAheadLog> {
  const path = `${directory}/${LOG_DIRECTORY_PREFIX}${firstIndex}`;
  await removeDirectory(fileSystem, path);
  await fileSystem.mkdir(path);
  await fileSystem.syncDirectory(directory);
  return WriteAheadLog.open(path, { ...options, firstIndex });
}

async function removeOtherLogs(
  fileSystem: FileSystem,
  directory: string,
  keepFirstIndex: number,
): Promise<void> {
  for (const name of await fileSystem.readdir(directory)) {
    if (
      name.startsWith(LOG_DIRECTORY_PREFIX) &&
      name !== `${LOG_DIRECTORY_PREFIX}${keepFirstIndex}`
    ) {
      await removeDirectory(fileSystem, `${directory}/${name}`);
    }
  }
}

/** Deletes a log directory's files (the directory itself stays, empty, if the port cannot remove it). */
async function removeDirectory(fileSystem: FileSystem, path: string): Promise<void> {
  if (!(await fileSystem.exists(path))) return;
  for (const name of await fileSystem.readdir(path)) await fileSystem.unlink(`${path}/${name}`);
  await fileSystem.syncDirectory(path);
}

/** The generation file's content: generation and vote, the member state as its attachment. */
function generationStateOf(
  hardState: HardState,
  memberState: MemberState,
): { generation: number; votedFor?: string; attachment: Uint8Array } {
  const attachment = encodeMemberState(memberState);
  return hardState.votedFor === undefined
    ? { generation: hardState.generation, attachment }
    : { generation: hardState.generation, votedFor: hardState.votedFor, attachment };
}

/** A storage identity: 128 random bits as 32 hex digits, from the node's random port. */
function newStorageId(random: Random): string {
  let id = '';
  for (let word = 0; word < 4; word++) {
    id += Math.floor(random.next() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  }
  return id;
}
