import { LeaderFollowerCore } from '../leader-follower-core.js';
import type { CoreOptions, EntriesToLoad, ReadPermit, ReadRefusal, Ready } from '../core-types.js';
import { isHollowEntry } from '../log-entry.js';
import type { HardState, LogEntry, Snapshot, SnapshotMetadata } from '../log-entry.js';
import type { Message, NodeId } from '../messages.js';
import { seededRandom } from './seeded-random.js';
import type { ClusterConfiguration } from '../cluster-configuration.js';

/** What one server has on "disk" in the in-test network. */
export interface StoredState {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  entries: LogEntry[];
  /** The snapshot being received from a leader, written chunk by chunk. */
  incoming?: Uint8Array | undefined;
  /** The configuration the snapshot records (the driver keeps it beside the snapshot). */
  snapshotConfiguration?: ClusterConfiguration | undefined;
}

function metadataOf(
  snapshot: Snapshot,
  configuration: ClusterConfiguration | undefined,
): SnapshotMetadata {
  return {
    index: snapshot.index,
    generation: snapshot.generation,
    sizeBytes: snapshot.data.length,
    ...(configuration === undefined ? {} : { configuration }),
  };
}

interface InFlight {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: Message;
}

interface HeldReady {
  readonly ready: Ready;
}

/**
 * A tiny network of cores with no I/O, for scenario tests in the style of etcd's raft tests:
 * messages are queued and delivered by `deliver()`; "disks" are arrays; persistence can be held
 * back per server to test what may happen before an fsync completes.
 */
export class CoreNetwork {
  readonly cores = new Map<NodeId, LeaderFollowerCore>();
  readonly storage = new Map<NodeId, StoredState>();
  /** Entries each server applied, in order (reset on restart, from the snapshot index). */
  readonly applied = new Map<NodeId, LogEntry[]>();
  readonly readsPermitted = new Map<NodeId, ReadPermit[]>();
  readonly readsRefused = new Map<NodeId, ReadRefusal[]>();
  /** Every message ever delivered, for assertions about traffic. */
  readonly delivered: InFlight[] = [];
  queue: InFlight[] = [];
  private readonly blocked = new Set<string>();
  private readonly holdingPersistence = new Set<NodeId>();
  private readonly held = new Map<NodeId, HeldReady[]>();
  private readonly down = new Set<NodeId>();
  private readonly random;
  /** When set, a message is dropped with this probability (uses the network's random). */
  dropRate = 0;
  /** When set, a message for which this returns true is dropped. */
  dropWhen: ((message: InFlight) => boolean) | undefined;
  duplicateRate = 0;
  reorder = false;
  /**
   * When set, the payload window of every server (as a driver keeps it): applied, durable entries
   * beyond these bytes go hollow, and the leaders' entries to load are read back from the "disk"
   * (and reported missing when the disk no longer holds them).
   */
  payloadWindowBytes: number | undefined;
  /** Loads answered from the "disk", and those it lacked an entry for (the append is dropped). */
  readonly refills = { sent: 0, dropped: 0 };
  /** When set, the leaders' entries to load wait here (a slow disk) until {@link answerLoads}. */
  holdLoads = false;
  readonly heldLoads: { id: NodeId; request: EntriesToLoad }[] = [];

  /** Every server of the network (servers added later with {@link addServer} included). */
  readonly ids: NodeId[];
  /** The initial members a server starts with, when not the network's first ids. */
  private readonly initialMembers = new Map<
    NodeId,
    { members: readonly NodeId[]; learners: readonly NodeId[] }
  >();
  private readonly firstIds: readonly NodeId[];

  constructor(
    ids: readonly NodeId[],
    private readonly options: Partial<CoreOptions> = {},
    seed = 1,
  ) {
    this.ids = [...ids];
    this.firstIds = ids;
    this.random = seededRandom(seed);
    for (const id of ids) {
      this.storage.set(id, {
        hardState: { generation: 0, votedFor: undefined },
        snapshot: undefined,
        entries: [],
      });
      this.start(id);
    }
  }

  core(id: NodeId): LeaderFollowerCore {
    const core = this.cores.get(id);
    if (core === undefined) throw new Error(`no core ${id}`);
    return core;
  }

  /**
   * Starts a new server with empty storage that joins as a learner: it knows the cluster's
   * `voters` and itself as a learner until the leader's log tells it more.
   */
  addServer(id: NodeId, voters: readonly NodeId[]): void {
    this.ids.push(id);
    this.initialMembers.set(id, { members: voters, learners: [id] });
    this.storage.set(id, {
      hardState: { generation: 0, votedFor: undefined },
      snapshot: undefined,
      entries: [],
    });
    this.start(id);
  }

  /** (Re)creates a server from what it stored. */
  start(id: NodeId): void {
    const stored = this.storage.get(id);
    if (stored === undefined) throw new Error(`no storage ${id}`);
    const core = new LeaderFollowerCore({
      electionTimeoutTicks: 10,
      ...this.options,
      id,
      ...(this.initialMembers.get(id) ?? { members: this.firstIds }),
      random: seededRandom(this.random.int(1 << 30) + 1),
      hardState: stored.hardState,
      ...(stored.snapshot === undefined
        ? {}
        : { snapshot: metadataOf(stored.snapshot, stored.snapshotConfiguration) }),
      entries: stored.entries.slice(),
    });
    this.cores.set(id, core);
    this.applied.set(id, []);
    this.down.delete(id);
    this.held.delete(id);
  }

  /** Stores `snapshot` as server `id`'s durable snapshot and tells its core (the driver's job). */
  snapshotTaken(id: NodeId, snapshot: Snapshot, retainEntries = 0): void {
    const stored = this.storage.get(id);
    if (stored === undefined) throw new Error(`no storage ${id}`);
    stored.snapshot = snapshot;
    stored.snapshotConfiguration = this.core(id).configurationAt(snapshot.index);
    this.core(id).snapshotTaken(metadataOf(snapshot, stored.snapshotConfiguration), retainEntries);
  }

  /** Crash: in-memory state and held (unpersisted) Readies are lost. */
  crash(id: NodeId): void {
    this.down.add(id);
    this.held.delete(id);
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
  }

  isDown(id: NodeId): boolean {
    return this.down.has(id);
  }

  /** Drops messages in both directions between the two groups. */
  partition(...groups: NodeId[][]): void {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.blocked.add(`${x}->${y}`);
      }
    }
  }

  isolate(id: NodeId): void {
    this.partition(
      [id],
      this.ids.filter((other) => other !== id),
    );
  }

  cut(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}->${to}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  holdPersistence(id: NodeId): void {
    this.holdingPersistence.add(id);
  }

  /** Completes every held Ready of `id` (its fsync finishes) and stops holding. */
  releasePersistence(id: NodeId): void {
    this.holdingPersistence.delete(id);
    const held = this.held.get(id) ?? [];
    this.held.delete(id);
    for (const { ready } of held) this.completePersistence(id, ready);
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) if (!this.down.has(id)) this.core(id).tick();
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) for (const id of this.ids) this.tick(id);
  }

  /** Handles Readies and delivers messages until the network is quiet (or the step bound). */
  deliver(maxMessages = 100_000): void {
    for (let count = 0; count < maxMessages; count++) {
      this.processReadies();
      const next = this.takeNextMessage();
      if (next === undefined) {
        this.processReadies();
        if (this.queue.length === 0) return;
        continue;
      }
      if (this.down.has(next.to) || this.blocked.has(`${next.from}->${next.to}`)) continue;
      if (this.dropWhen?.(next) === true) continue;
      if (next.message.kind === 'append' && next.message.entries.some(isHollowEntry)) {
        throw new Error(`${next.from} sent a hollow entry to ${next.to}`);
      }
      this.delivered.push(next);
      this.core(next.to).step(next.from, next.message);
    }
    throw new Error('network did not quiesce');
  }

  /** Ticks everyone and delivers, `rounds` times. */
  run(rounds: number): void {
    for (let i = 0; i < rounds; i++) {
      this.tickAll();
      this.deliver();
    }
  }

  /** Ticks `id` until it campaigns, then delivers; returns the leader after. */
  elect(id: NodeId): void {
    const core = this.core(id);
    for (let i = 0; i < 100 && core.role === 'follower'; i++) core.tick();
    this.deliver();
  }

  /** Ticks everyone (live) until some server leads, delivering as it goes. */
  runUntilLeader(maxRounds = 200): NodeId {
    for (let i = 0; i < maxRounds; i++) {
      const leader = this.leader();
      if (leader !== undefined) {
        const generation = this.core(leader).status().generation;
        const followers = this.ids.filter((id) => {
          const status = this.core(id).status();
          return id !== leader && status.leaderId === leader && status.generation === generation;
        });
        if (followers.length + 1 >= Math.floor(this.ids.length / 2) + 1) return leader;
      }
      this.tickAll();
      this.deliver();
    }
    throw new Error('no leader emerged');
  }

  /** Ticks everyone (live) and delivers until `done()` holds. */
  runUntil(done: () => boolean, maxRounds = 500): void {
    for (let i = 0; i < maxRounds && !done(); i++) {
      this.tickAll();
      this.deliver();
    }
    if (!done()) throw new Error('condition not reached');
  }

  /** Ticks everyone (live) until some server becomes leader, committed or not. */
  runUntilLeaderElected(maxRounds = 200): NodeId {
    for (let i = 0; i < maxRounds; i++) {
      const leader = this.leader();
      if (leader !== undefined) return leader;
      this.tickAll();
      this.deliver();
    }
    throw new Error('no leader emerged');
  }

  leader(): NodeId | undefined {
    let found: NodeId | undefined;
    let generation = -1;
    for (const id of this.ids) {
      if (this.down.has(id)) continue;
      const status = this.core(id).status();
      if (status.role === 'leader' && status.generation > generation) {
        found = id;
        generation = status.generation;
      }
    }
    return found;
  }

  private takeNextMessage(): InFlight | undefined {
    if (this.queue.length === 0) return undefined;
    if (this.reorder && this.queue.length > 1) {
      const index = this.random.int(this.queue.length);
      const [message] = this.queue.splice(index, 1);
      return message;
    }
    return this.queue.shift();
  }

  private processReadies(): void {
    for (const id of this.ids) {
      if (this.down.has(id)) continue;
      const core = this.core(id);
      while (core.hasReady()) this.handleReady(id, core.takeReady());
    }
  }

  private handleReady(id: NodeId, ready: Ready): void {
    for (const outbound of ready.messagesToSendNow) this.enqueue(id, outbound.to, outbound.message);
    for (const request of ready.entriesToLoad) this.load(id, request);
    const snapshot = this.storage.get(id)?.snapshot;
    for (const chunk of ready.snapshotChunksToSend) {
      // A request for a snapshot this server no longer holds is dropped, as a driver does.
      if (snapshot?.index !== chunk.snapshotIndex) continue;
      this.enqueue(id, chunk.to, {
        kind: 'snapshot-chunk',
        generation: chunk.generation,
        snapshotIndex: chunk.snapshotIndex,
        snapshotGeneration: chunk.snapshotGeneration,
        offset: chunk.offset,
        totalBytes: chunk.totalBytes,
        data: snapshot.data.slice(chunk.offset, chunk.offset + chunk.length),
        ...(chunk.configuration === undefined ? {} : { configuration: chunk.configuration }),
      });
    }
    if (this.holdingPersistence.has(id)) {
      const list = this.held.get(id) ?? [];
      list.push({ ready });
      this.held.set(id, list);
      return;
    }
    this.completePersistence(id, ready);
  }

  private completePersistence(id: NodeId, ready: Ready): void {
    if (this.down.has(id)) return;
    const stored = this.storage.get(id);
    const core = this.core(id);
    if (stored === undefined) return;
    for (const chunk of ready.snapshotChunksToStore) {
      if (chunk.offset === 0 || stored.incoming?.length !== chunk.totalBytes) {
        stored.incoming = new Uint8Array(chunk.totalBytes);
      }
      stored.incoming.set(chunk.data, chunk.offset);
    }
    const installed = ready.snapshotToInstall;
    if (installed !== undefined) {
      const data = stored.incoming ?? new Uint8Array(0);
      if (data.length !== installed.sizeBytes) throw new Error('installed an incomplete snapshot');
      stored.snapshot = { index: installed.index, generation: installed.generation, data };
      stored.snapshotConfiguration = installed.configuration;
      stored.incoming = undefined;
      stored.entries = [];
      this.applied.set(id, []);
    }
    if (ready.hardState !== undefined) stored.hardState = ready.hardState;
    const first = ready.entriesToPersist[0];
    if (first !== undefined) {
      const keep = stored.entries.findIndex((entry) => entry.index >= first.index);
      if (keep >= 0) stored.entries.length = keep;
      stored.entries.push(...ready.entriesToPersist);
      const last = ready.entriesToPersist[ready.entriesToPersist.length - 1];
      if (last !== undefined) core.persisted(last.index, last.generation);
    }
    for (const outbound of ready.messagesAfterPersist) {
      this.enqueue(id, outbound.to, outbound.message);
    }
    const applied = this.applied.get(id) ?? [];
    for (const entry of ready.committedEntries) applied.push(entry);
    const lastCommitted = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastCommitted !== undefined) core.applied(lastCommitted.index);
    if (this.payloadWindowBytes !== undefined) {
      core.releasePayloadsThrough(core.status().appliedIndex, this.payloadWindowBytes);
    }
    this.readsPermitted.set(id, [...(this.readsPermitted.get(id) ?? []), ...ready.readsPermitted]);
    this.readsRefused.set(id, [...(this.readsRefused.get(id) ?? []), ...ready.readsRefused]);
  }

  /** What a driver does with the leader's entries to load: read them back from its "disk". */
  /** Answers the held loads, in the order they were asked for. */
  answerLoads(): void {
    for (const { id, request } of this.heldLoads.splice(0)) this.answerLoad(id, request);
  }

  private load(id: NodeId, request: EntriesToLoad): void {
    if (this.holdLoads) this.heldLoads.push({ id, request });
    else this.answerLoad(id, request);
  }

  private answerLoad(id: NodeId, request: EntriesToLoad): void {
    const stored = this.storage.get(id)?.entries ?? [];
    const firstStored = stored[0]?.index ?? 0;
    const loaded = stored.slice(request.from - firstStored, request.to - firstStored + 1);
    const complete =
      request.from >= firstStored &&
      loaded.length === request.to - request.from + 1 &&
      loaded.every((entry, offset) => entry.index === request.from + offset);
    if (complete) this.refills.sent++;
    else this.refills.dropped++;
    this.core(id).entriesLoaded(request, complete ? loaded : undefined);
  }

  private enqueue(from: NodeId, to: NodeId, message: Message): void {
    if (this.dropRate > 0 && this.random.next() < this.dropRate) return;
    this.queue.push({ from, to, message });
    if (this.duplicateRate > 0 && this.random.next() < this.duplicateRate) {
      this.queue.push({ from, to, message });
    }
  }
}
