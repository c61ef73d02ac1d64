/**
 * The driver of `@x/leader-follower`'s deterministic core for kv-node: it does the I/O the core
 * asks for in each Ready (send, persist through `@x/wal` and the generation store, apply to the
 * state machine, answer reads), ticks the core's clock, takes snapshots, and turns the core's
 * answers into the promises the HTTP API awaits.
 *
 * A stop-gap until `@x/leader-follower` ships its own node driver: it follows the Ready contract
 * documented on the core (send now, persist, send after persist, apply, serve reads).
 */

import { rm } from 'node:fs/promises';
import type { GenerationState } from '@x/generation-clock';
import { FileGenerationStore, NodeFileSystem as GenerationFileSystem } from '@x/generation-clock';
import type { LogEntry, Ready, Snapshot } from '@x/leader-follower';
import { LeaderFollowerCore } from '@x/leader-follower';
import { WriteAheadLog } from '@x/wal';
import { ApiError, GrpcCode, unavailable } from '../../http/api-error.js';
import type { MemberStatus, NodeRole, NodeStatus } from '../../http/kv-backend.js';
import type { Logger } from '../../logging/logger.js';
import type { NodeMetrics } from '../../metrics/node-metrics.js';
import type { KvStore } from '../../store/kv-store.js';
import type { ApplyOutcome, KvStateMachine } from '../../store/kv-state-machine.js';
import { ApplyTracker } from '../apply-tracker.js';
import type { LocalReplica } from '../local-replica.js';
import type { Transport } from '../transport.js';
import { decodePeerMessage, encodePeerMessage } from './peer-message-codec.js';
import { SnapshotFiles } from './snapshot-files.js';

const WAL_TYPE_COMMAND = 0;
const WAL_TYPE_EMPTY = 1;
/**
 * Entries kept in the log below a snapshot so that slightly lagging followers need no snapshot
 * (etcd keeps 5,000), at most one snapshot interval.
 */
const MAX_RETAINED_ENTRIES = 5000;

/** A member as the driver reports it. */
export interface DriverMember {
  name: string;
  id: string;
  peerUrls: string[];
  clientUrls: string[];
}

/** Options of {@link ReplicaDriver.open}. */
export interface ReplicaDriverOptions {
  /** This member's name (the node id on the transport and in the core). */
  name: string;
  clusterId: string;
  members: DriverMember[];
  dataDir: string;
  /** The replication share of the peer transport. */
  transport: Transport;
  stateMachine: KvStateMachine;
  /** Milliseconds per core tick (the heartbeat interval). */
  tickMs: number;
  /** Election timeout in ticks (randomized by the core in [t, 2t)). */
  electionTimeoutTicks: number;
  /** Applied entries between snapshots. */
  snapshotCount: number;
  logger: Logger;
  metrics: NodeMetrics;
  random?: { next(): number };
}

interface ProposalWaiter {
  generation: number;
  resolve(outcome: ApplyOutcome): void;
  reject(error: Error): void;
}

interface ReadWaiter {
  resolve(index: number): void;
  reject(error: Error): void;
}

function walEntryToLogEntry(entry: {
  index: number;
  generation: number;
  type: number;
  payload: Uint8Array;
}): LogEntry {
  return {
    index: entry.index,
    generation: entry.generation,
    kind: entry.type === WAL_TYPE_EMPTY ? 'empty' : 'command',
    command: entry.payload,
  };
}

/** Runs one replica of the log. Implements {@link LocalReplica} for the HTTP API. */
export class ReplicaDriver implements LocalReplica {
  readonly #options: ReplicaDriverOptions;
  readonly #core: LeaderFollowerCore;
  readonly #snapshots: SnapshotFiles;
  readonly #generationStore: FileGenerationStore;
  readonly #tracker = new ApplyTracker();
  readonly #proposals = new Map<number, ProposalWaiter>();
  readonly #reads = new Map<number, ReadWaiter>();
  readonly #idByName: Map<string, string>;
  #wal: WriteAheadLog;
  #nextReadId = 1;
  #draining = false;
  /** The ordered chain of disk work (and the applies that must wait for it). */
  #persistence: Promise<void> = Promise.resolve();
  /** Apply steps on the chain not yet finished. */
  #pendingApplies = 0;
  /** Snapshot installs (which replace the log) on the chain not yet finished. */
  #walReplacementPending = 0;
  /** Saves of the generation and vote, one at a time. */
  #hardStateSaves: Promise<void> = Promise.resolve();
  #closed = false;
  #ticker: NodeJS.Timeout | undefined;
  #snapshotIndex: number;
  #snapshotting = false;
  #lastLeader: string | undefined;
  #failure: ((error: Error) => void) | undefined;
  /** Rejects when the replica fails and must stop (a log write failed). */
  readonly failed: Promise<Error>;

  private constructor(
    options: ReplicaDriverOptions,
    core: LeaderFollowerCore,
    wal: WriteAheadLog,
    snapshots: SnapshotFiles,
    generationStore: FileGenerationStore,
    snapshotIndex: number,
  ) {
    this.#options = options;
    this.#core = core;
    this.#wal = wal;
    this.#snapshots = snapshots;
    this.#generationStore = generationStore;
    this.#snapshotIndex = snapshotIndex;
    this.#tracker.applied(snapshotIndex);
    this.#idByName = new Map(options.members.map((member) => [member.name, member.id]));
    this.failed = new Promise<Error>((resolve) => {
      this.#failure = resolve;
    });
  }

  /**
   * Recovers the replica from its data directory (snapshot, log, generation and vote) and starts
   * it: listens to peers and ticks.
   *
   * @throws when the log, the generation file or a snapshot is corrupt or locked.
   */
  static async open(options: ReplicaDriverOptions): Promise<ReplicaDriver> {
    const snapshots = new SnapshotFiles(`${options.dataDir}/snap`);
    const snapshot = await snapshots.loadLatest();
    if (snapshot !== undefined) options.stateMachine.restore(snapshot.data, snapshot.index);
    const snapshotIndex = snapshot?.index ?? 0;
    const walDirectory = `${options.dataDir}/wal`;
    let wal = await WriteAheadLog.open(walDirectory, { firstIndex: snapshotIndex + 1 });
    if (wal.lastIndex < snapshotIndex || wal.firstIndex > snapshotIndex + 1) {
      if (wal.firstIndex > snapshotIndex + 1) {
        throw new Error(
          `${walDirectory} starts at ${wal.firstIndex}, after the snapshot at ${snapshotIndex}: entries are missing`,
        );
      }
      // The log ends before the snapshot (it was installed from the leader): start it afresh.
      await wal.close();
      await rm(walDirectory, { recursive: true, force: true });
      wal = await WriteAheadLog.open(walDirectory, { firstIndex: snapshotIndex + 1 });
    }
    const entries: LogEntry[] = [];
    if (wal.lastIndex > snapshotIndex) {
      for await (const entry of wal.entries(snapshotIndex + 1)) {
        entries.push(walEntryToLogEntry(entry));
      }
    }
    const generationStore = new FileGenerationStore({
      fileSystem: new GenerationFileSystem(),
      directory: options.dataDir,
      fileName: 'generation',
    });
    const hardState = await generationStore.load();
    const core = new LeaderFollowerCore({
      id: options.name,
      members: options.members.map((member) => member.name),
      random: options.random ?? { next: () => Math.random() },
      electionTimeoutTicks: options.electionTimeoutTicks,
      heartbeatIntervalTicks: 1,
      ...(hardState === undefined
        ? {}
        : { hardState: { generation: hardState.generation, votedFor: hardState.votedFor } }),
      ...(snapshot === undefined ? {} : { snapshot }),
      entries,
    });
    const driver = new ReplicaDriver(options, core, wal, snapshots, generationStore, snapshotIndex);
    driver.#start();
    options.logger.info(
      { snapshotIndex, logEntries: entries.length, generation: hardState?.generation ?? 0 },
      'replica recovered',
    );
    return driver;
  }

  /** The local store. */
  get store(): KvStore {
    return this.#options.stateMachine.store;
  }

  /** Whether this member leads now. */
  isLeader(): boolean {
    return this.#core.role === 'leader';
  }

  /** Name of the member this one follows, if known. */
  leaderName(): string | undefined {
    return this.#core.knownLeader;
  }

  /** Proposes a command; resolves with its outcome once it is committed and applied here. */
  propose(command: Uint8Array): Promise<ApplyOutcome> {
    if (this.#closed)
      return Promise.reject(unavailable('this node is shutting down', 'shutting_down'));
    const result = this.#core.propose(command);
    if (!result.accepted) {
      return Promise.reject(
        result.reason === 'leadership-transfer'
          ? unavailable('etcdserver: leadership is being transferred')
          : unavailable('etcdserver: not leader', 'no_leader'),
      );
    }
    const promise = new Promise<ApplyOutcome>((resolve, reject) => {
      this.#proposals.set(result.index, { generation: result.generation, resolve, reject });
    });
    this.#kick();
    return promise;
  }

  /** Confirms leadership with a quorum; resolves with the index a read must wait for. */
  readBarrier(): Promise<number> {
    if (this.#closed)
      return Promise.reject(unavailable('this node is shutting down', 'shutting_down'));
    const requestId = this.#nextReadId++;
    const promise = new Promise<number>((resolve, reject) => {
      this.#reads.set(requestId, { resolve, reject });
    });
    this.#core.readIndex(requestId);
    this.#kick();
    return promise;
  }

  /** Resolves once `index` is applied here. */
  waitForApplied(index: number): Promise<void> {
    return this.#tracker.waitFor(index);
  }

  /** This member's view of the cluster. */
  status(): NodeStatus {
    const core = this.#core.status();
    const role: NodeRole =
      core.role === 'leader' ? 'leader' : core.role === 'follower' ? 'follower' : 'candidate';
    const followers = new Map(core.followers.map((follower) => [follower.id, follower]));
    const self = this.#options.name;
    const members: MemberStatus[] = this.#options.members.map((member) => {
      const follower = followers.get(member.name);
      const base: MemberStatus = {
        id: member.id,
        name: member.name,
        peerUrls: member.peerUrls,
        clientUrls: member.clientUrls,
        role:
          member.name === core.leaderId
            ? 'leader'
            : member.name === self
              ? role
              : core.role === 'leader'
                ? 'follower'
                : 'unknown',
      };
      if (member.name === self && core.role === 'leader') {
        return { ...base, matchIndex: core.durableIndex, lag: 0, lastContactAgoMs: 0 };
      }
      if (follower === undefined) return base;
      return {
        ...base,
        matchIndex: follower.matchIndex,
        lag: follower.lag,
        lastContactAgoMs: follower.ticksSinceResponse * this.#options.tickMs,
      };
    });
    const leaderId = core.leaderId === undefined ? undefined : this.#idByName.get(core.leaderId);
    return {
      clusterId: this.#options.clusterId,
      memberId: this.#idByName.get(self) ?? '0',
      name: self,
      role,
      generation: core.generation,
      leaderId,
      lastLogIndex: core.lastIndex,
      commitIndex: core.highWaterMark,
      appliedIndex: this.#tracker.appliedIndex,
      members,
    };
  }

  /** Hands leadership to the most caught-up follower; resolves once another member leads. */
  async transferLeadership(): Promise<void> {
    if (this.#core.transferLeadership() === undefined) return;
    this.#kick();
    const deadline =
      performance.now() + this.#options.tickMs * this.#options.electionTimeoutTicks * 2;
    while (this.#core.role === 'leader' && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, this.#options.tickMs));
    }
  }

  /** Stops ticking and answering, fails pending requests, closes the log. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#failPending(
      new ApiError('this node stopped; the write may or may not have been applied', {
        reason: 'indeterminate',
        status: 504,
        grpcCode: GrpcCode.deadlineExceeded,
        definite: false,
      }),
    );
    await this.#persistence;
    await this.#wal.close();
  }

  #start(): void {
    this.#options.transport.onMessage((from, type, payload) => {
      if (this.#closed) return;
      let message;
      try {
        message = decodePeerMessage(type, payload);
      } catch (error) {
        this.#options.logger.warn({ from, type, err: error }, 'dropped a malformed peer message');
        return;
      }
      if (message === undefined) return;
      this.#core.step(from, message);
      this.#kick();
    });
    this.#ticker = setInterval(() => {
      this.#core.tick();
      this.#kick();
    }, this.#options.tickMs);
    this.#kick();
  }

  #kick(): void {
    if (this.#draining || this.#closed) return;
    this.#draining = true;
    // Let inputs that arrive in the same turn join one Ready (and one fsync).
    queueMicrotask(() => this.#drain());
  }

  /**
   * Hands out every Ready at once without waiting for the disk: persistence runs on one ordered
   * chain, so the leader keeps processing acknowledgements (and committing) while an fsync is in
   * flight, and proposals that arrive meanwhile share the next fsync.
   */
  #drain(): void {
    try {
      while (!this.#closed && this.#core.hasReady()) this.#handle(this.#core.takeReady());
    } catch (error) {
      this.#fail(error as Error);
    } finally {
      this.#draining = false;
    }
    this.#noteLeader();
  }

  /**
   * Runs `step` after everything already on the persistence chain, in order. `applies` marks a
   * step that applies entries: later applies must wait for it to keep log order.
   */
  #chain(step: () => Promise<void> | void, applies = false): void {
    if (applies) this.#pendingApplies++;
    this.#persistence = this.#persistence
      .then(async () => {
        if (!this.#closed) await step();
      })
      .catch((error: unknown) => this.#fail(error as Error))
      .finally(() => {
        if (applies) this.#pendingApplies--;
      });
  }

  #send(messages: Ready['messagesToSendNow']): void {
    for (const { to, message } of messages) {
      const { type, payload } = encodePeerMessage(message);
      try {
        this.#options.transport.send(to, type, payload);
      } catch (error) {
        this.#options.logger.warn({ to, err: error }, 'could not send to a peer');
      }
    }
  }

  #handle(ready: Ready): void {
    this.#send(ready.messagesToSendNow);
    const entries = ready.entriesToPersist;
    const last = entries.at(-1);
    const persists =
      ready.snapshotToInstall !== undefined || ready.hardState !== undefined || last !== undefined;
    if (ready.snapshotToInstall !== undefined || this.#walReplacementPending > 0) {
      // Rare: a snapshot install replaces the log, so this Ready's writes wait their turn.
      if (ready.snapshotToInstall !== undefined) this.#walReplacementPending++;
      const snapshot = ready.snapshotToInstall;
      this.#chain(async () => {
        try {
          if (snapshot !== undefined) await this.#persistSnapshot(snapshot);
          await Promise.all(this.#startWrites(ready));
        } finally {
          if (snapshot !== undefined) this.#walReplacementPending--;
        }
        this.#afterPersist(ready);
      });
    } else if (persists) {
      // Issue the writes now, so appends from Readies in flight share the log's next fsync;
      // only what must follow durability waits, in Ready order, on the chain.
      const durable = Promise.all(this.#startWrites(ready));
      // Handled on the chain below; this only keeps an early failure from counting as unhandled.
      durable.catch(() => undefined);
      this.#chain(async () => {
        await durable;
        this.#afterPersist(ready);
      });
    } else {
      this.#send(ready.messagesAfterPersist);
    }
    // Committed entries are durable on a majority. They may be applied at once when they are also
    // durable here and nothing earlier is still waiting on the chain (applies stay in log order);
    // otherwise they are applied on the chain, after this Ready's persistence.
    const committed = ready.committedEntries;
    const lastCommitted = committed.at(-1);
    const applyNow =
      ready.snapshotToInstall === undefined &&
      this.#pendingApplies === 0 &&
      (lastCommitted === undefined || lastCommitted.index <= this.#wal.durableIndex);
    const applyAll = (): void => {
      if (ready.snapshotToInstall !== undefined) {
        const snapshot = ready.snapshotToInstall;
        this.#options.stateMachine.restore(snapshot.data, snapshot.index);
        this.#snapshotIndex = snapshot.index;
        this.#tracker.applied(snapshot.index);
        this.#core.applied(snapshot.index);
      }
      this.#apply(committed);
      this.#maybeSnapshot();
    };
    if (applyNow) applyAll();
    else this.#chain(applyAll, true);
    for (const permit of ready.readsPermitted) {
      this.#reads.get(permit.requestId)?.resolve(permit.index);
      this.#reads.delete(permit.requestId);
    }
    for (const refusal of ready.readsRefused) {
      this.#reads
        .get(refusal.requestId)
        ?.reject(
          unavailable(
            refusal.reason === 'not-leader'
              ? 'etcdserver: not leader'
              : 'etcdserver: leadership lost while confirming a read',
            'no_leader',
          ),
        );
      this.#reads.delete(refusal.requestId);
    }
  }

  /** Starts persisting a Ready's generation, vote and entries; the promises resolve when durable. */
  #startWrites(ready: Ready): Promise<unknown>[] {
    const writes: Promise<unknown>[] = [];
    const hardState = ready.hardState;
    if (hardState !== undefined) {
      const state: GenerationState =
        hardState.votedFor === undefined
          ? { generation: hardState.generation }
          : { generation: hardState.generation, votedFor: hardState.votedFor };
      // The generation store takes one save at a time.
      this.#hardStateSaves = this.#hardStateSaves.then(() => this.#generationStore.save(state));
      writes.push(this.#hardStateSaves);
    }
    const entries = ready.entriesToPersist;
    const first = entries[0];
    if (first !== undefined) {
      if (first.index <= this.#wal.lastIndex) writes.push(this.#wal.truncateSuffix(first.index));
      const started = performance.now();
      writes.push(
        this.#wal
          .appendAll(
            entries.map((entry) => ({
              generation: entry.generation,
              type: entry.kind === 'empty' ? WAL_TYPE_EMPTY : WAL_TYPE_COMMAND,
              payload: entry.command,
              index: entry.index,
            })),
          )
          .then(() => {
            this.#options.metrics.fsyncDuration.observe((performance.now() - started) / 1000);
          }),
      );
    }
    return writes;
  }

  /** Once a Ready's writes are durable: send what had to wait, tell the core, go on. */
  #afterPersist(ready: Ready): void {
    this.#send(ready.messagesAfterPersist);
    const last = ready.entriesToPersist.at(-1);
    if (last !== undefined) this.#core.persisted(last.index, last.generation);
    this.#kick();
  }

  #apply(entries: readonly LogEntry[]): void {
    if (entries.length === 0) return;
    const machine = this.#options.stateMachine;
    for (const entry of entries) {
      if (entry.index <= machine.appliedIndex) continue;
      const started = performance.now();
      const outcome = machine.apply(
        entry.index,
        entry.kind === 'empty' ? new Uint8Array(0) : entry.command,
      );
      this.#options.metrics.applyDuration.observe((performance.now() - started) / 1000);
      const waiter = this.#proposals.get(entry.index);
      if (waiter === undefined) continue;
      this.#proposals.delete(entry.index);
      if (waiter.generation === entry.generation && outcome !== undefined) {
        waiter.resolve(outcome);
      } else {
        // Another leader's entry took this index: ours can never be committed anywhere.
        waiter.reject(unavailable('etcdserver: leadership changed; the write was not applied'));
      }
    }
    const last = (entries.at(-1) as LogEntry).index;
    this.#tracker.applied(last);
    this.#core.applied(last);
  }

  async #persistSnapshot(snapshot: Snapshot): Promise<void> {
    await this.#snapshots.save(snapshot);
    const walDirectory = `${this.#options.dataDir}/wal`;
    if (
      this.#wal.lastIndex < snapshot.index ||
      this.#wal.generationAt(snapshot.index) !== snapshot.generation
    ) {
      // The installed snapshot replaces the whole log up to it; continue the log right after it.
      await this.#wal.close();
      await rm(walDirectory, { recursive: true, force: true });
      this.#wal = await WriteAheadLog.open(walDirectory, { firstIndex: snapshot.index + 1 });
    }
  }

  /** Takes a snapshot every `snapshotCount` applied entries; it is written on the chain. */
  #maybeSnapshot(): void {
    const applied = this.#tracker.appliedIndex;
    if (this.#snapshotting || applied - this.#snapshotIndex < this.#options.snapshotCount) return;
    const generation = this.#core.generationAt(applied);
    if (generation === undefined) return;
    this.#snapshotting = true;
    const data = this.#options.stateMachine.snapshot();
    this.#chain(async () => {
      try {
        await this.#snapshots.save({ index: applied, generation, data });
        this.#snapshotIndex = applied;
        const retained = Math.min(MAX_RETAINED_ENTRIES, this.#options.snapshotCount);
        this.#core.snapshotTaken({ index: applied, generation, data }, retained);
        const released = await this.#wal.releaseBelow(Math.max(1, applied - retained));
        this.#options.logger.info(
          { index: applied, bytes: data.byteLength, released },
          'snapshot taken',
        );
      } finally {
        this.#snapshotting = false;
      }
    });
  }

  #noteLeader(): void {
    const leader = this.#core.knownLeader;
    if (leader !== this.#lastLeader) {
      this.#options.logger.info(
        { leader: leader ?? null, generation: this.#core.status().generation },
        'leader changed',
      );
      if (leader !== undefined) this.#options.metrics.leaderChanges.inc();
      this.#lastLeader = leader;
    }
    this.#options.metrics.hasLeader.set(leader === undefined ? 0 : 1);
  }

  #failPending(error: Error): void {
    for (const waiter of this.#proposals.values()) waiter.reject(error);
    this.#proposals.clear();
    for (const waiter of this.#reads.values()) waiter.reject(unavailable(error.message));
    this.#reads.clear();
  }

  #fail(error: Error): void {
    this.#options.logger.error({ err: error }, 'replica failed; stopping');
    this.#closed = true;
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#failPending(
      new ApiError(
        `the log failed (${error.message}); the write may or may not have been applied`,
        {
          reason: 'indeterminate',
          status: 504,
          grpcCode: GrpcCode.deadlineExceeded,
          definite: false,
        },
      ),
    );
    this.#failure?.(error);
  }
}
