/**
 * Watchers of the local store (etcd's watch), served by any member from its applied state.
 *
 * Each watcher has a bounded queue of messages (one per revision with matching events, so the
 * events of one transaction always travel together). While it keeps up it is *synced*: each
 * revision applied is offered to it as it commits. If its queue is full, it becomes *unsynced*
 * (etcd's term): the apply loop stops offering it anything, and once its consumer has taken
 * messages off the queue, it catches up from the store's history, a bounded batch per turn of
 * the event loop, until it is synced again. A slow or stalled consumer therefore never slows the
 * apply loop and never holds more than its queue; if the history it still needs is compacted
 * meanwhile, it is cancelled with the compact revision, as in etcd.
 *
 * Synced watchers are grouped by what they select (range, filters, prev_kv): a commit works out
 * a group's events once and queues one shared (immutable) message to each of its watchers, so a
 * thousand watchers of one prefix cost one match and a thousand queue pushes, not a thousand
 * matches.
 */

import type { ByteString } from '../store/byte-string.js';
import type { KeyChange, KvStore } from '../store/kv-store.js';
import type { KeyValue } from '../store/kv-types.js';
import { unpackHeader, valueOf } from '../store/packed-entry.js';

/** One event: a put (with the key-value after it) or a delete (key and revision only). */
export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  /** The key-value before the event, when the watch asked for it and it is still kept. */
  prevKv?: KeyValue;
}

/** What a watcher's consumer takes off its queue. */
export type WatchMessage =
  /** The events of one revision; `headerRevision` is the store revision reported with them. */
  | { kind: 'events'; revision: number; headerRevision: number; events: WatchEvent[] }
  /** The watch ended: its start or catch-up point was compacted, or it was cancelled. */
  | { kind: 'canceled'; compactRevision?: number; reason?: string }
  /** Nothing to report up to `revision` (etcd's progress notification). */
  | { kind: 'progress'; revision: number };

/** What to watch. */
export interface WatchRequest {
  key: ByteString;
  /** Same rules as a range: `''` one key, `'\0'` every key from `key`, else `[key, rangeEnd)`. */
  rangeEnd: ByteString;
  /** First revision to report; 0 for the next one applied. */
  startRevision: number;
  prevKv: boolean;
  noPut: boolean;
  noDelete: boolean;
  progressNotify: boolean;
}

/** Most messages a watcher's queue holds (etcd's watch stream buffers 128 responses). */
export const DEFAULT_WATCHER_QUEUE = 128;
/** Most revisions one catch-up turn reads from history, to keep the event loop responsive. */
const CATCH_UP_REVISIONS_PER_TURN = 4096;
/** Most messages one catch-up turn queues from revisions it has already read, for the same. */
const CATCH_UP_SHARED_PER_TURN = 65_536;

/** Options of {@link WatchHub}. */
export interface WatchHubOptions {
  /** Queue bound per watcher, in messages. */
  queueCapacity?: number;
  /** Runs `task` later, on a fresh turn of the event loop (default `setImmediate`). */
  schedule?: (task: () => void) => void;
}

/** One watcher: the consumer takes messages with {@link Watcher.take}. */
export class Watcher {
  readonly request: WatchRequest;
  /** @internal what the watcher selects, as a key: watchers with the same one get the same events. */
  readonly selector: string;
  /** The next revision this watcher has not yet been offered. */
  nextRevision: number;
  synced = false;
  canceled = false;
  readonly #queue: WatchMessage[] = [];
  readonly #hub: WatchHub;
  readonly #onReadable: () => void;

  /** @internal created by {@link WatchHub.watch}. */
  constructor(hub: WatchHub, request: WatchRequest, nextRevision: number, onReadable: () => void) {
    this.#hub = hub;
    this.request = request;
    this.selector = JSON.stringify([
      request.key,
      request.rangeEnd,
      request.noPut,
      request.noDelete,
      request.prevKv,
    ]);
    this.nextRevision = nextRevision;
    this.#onReadable = onReadable;
  }

  /** Messages waiting to be taken. */
  get queued(): number {
    return this.#queue.length;
  }

  /** The next message, if any; taking one may let an unsynced watcher catch up. */
  take(): WatchMessage | undefined {
    const message = this.#queue.shift();
    if (message !== undefined && !this.synced && !this.canceled) this.#hub.scheduleCatchUp();
    return message;
  }

  /** @internal whether the queue has room. */
  hasRoom(capacity: number): boolean {
    return this.#queue.length < capacity;
  }

  /** @internal queues a message and tells the consumer. */
  push(message: WatchMessage): void {
    this.#queue.push(message);
    this.#onReadable();
  }

  /**
   * @internal tells the consumer this watcher caught up (it may have nothing new to take): a
   * progress request waiting for every watcher of a stream to be synced is answered then.
   */
  caughtUp(): void {
    this.#onReadable();
  }

  /** Whether `key` is in the watched range. */
  covers(key: ByteString): boolean {
    const { key: start, rangeEnd } = this.request;
    if (rangeEnd === '') return key === start;
    if (rangeEnd === '\0') return key >= start;
    return key >= start && key < rangeEnd;
  }
}

function keyValueOf(key: ByteString, packed: string, lease: string | undefined): KeyValue {
  const header = unpackHeader(packed);
  const kv: KeyValue = {
    key,
    value: valueOf(packed, header),
    createRevision: header.createRevision,
    modRevision: header.modRevision,
    version: header.version,
  };
  if (lease !== undefined) kv.lease = lease;
  return kv;
}

/** The watchers of one store (see the module comment). */
export class WatchHub {
  readonly #store: KvStore;
  readonly #capacity: number;
  readonly #schedule: (task: () => void) => void;
  readonly #watchers = new Set<Watcher>();
  /**
   * The synced watchers by selector: the only ones a commit visits (a stalled one costs it
   * nothing). A group is removed once empty.
   */
  readonly #synced = new Map<string, Set<Watcher>>();
  #catchUpScheduled = false;
  readonly #stopListening: () => void;

  /**
   * @param store the store to watch (its changes are offered to synced watchers as they commit).
   * @param options see {@link WatchHubOptions}.
   */
  constructor(store: KvStore, options: WatchHubOptions = {}) {
    this.#store = store;
    this.#capacity = options.queueCapacity ?? DEFAULT_WATCHER_QUEUE;
    this.#schedule = options.schedule ?? ((task) => setImmediate(task));
    this.#stopListening = store.onChange((revision, replaced) =>
      replaced ? this.#replaced() : this.#committed(revision),
    );
  }

  /** Number of live watchers. */
  get size(): number {
    return this.#watchers.size;
  }

  /**
   * Starts a watcher. One whose start revision is compacted gets a `canceled` message with the
   * compact revision right away.
   *
   * @param onReadable called whenever a message is queued (the consumer then calls `take`).
   */
  watch(request: WatchRequest, onReadable: () => void): Watcher {
    const current = this.#store.revision;
    const start = request.startRevision > 0 ? request.startRevision : current + 1;
    const watcher = new Watcher(this, request, start, onReadable);
    this.#watchers.add(watcher);
    if (start > current) this.#setSynced(watcher, true);
    else this.scheduleCatchUp();
    return watcher;
  }

  /** Stops a watcher; nothing more is queued for it. */
  cancel(watcher: Watcher): void {
    watcher.canceled = true;
    this.#watchers.delete(watcher);
    this.#setSynced(watcher, false);
  }

  /** Stops listening to the store (every watcher is cancelled). */
  close(): void {
    this.#stopListening();
    for (const watcher of this.#watchers) this.cancel(watcher);
  }

  /** @internal runs the catch-up of unsynced watchers on a later turn (once). */
  scheduleCatchUp(): void {
    if (this.#catchUpScheduled) return;
    this.#catchUpScheduled = true;
    this.#schedule(() => {
      this.#catchUpScheduled = false;
      this.#catchUp();
    });
  }

  #setSynced(watcher: Watcher, synced: boolean): void {
    if (watcher.synced === synced) return;
    watcher.synced = synced;
    const group = this.#synced.get(watcher.selector);
    if (synced) {
      if (group === undefined) this.#synced.set(watcher.selector, new Set([watcher]));
      else group.add(watcher);
    } else if (group !== undefined) {
      group.delete(watcher);
      if (group.size === 0) this.#synced.delete(watcher.selector);
    }
  }

  /**
   * The events of `revision` a watcher wants (empty if none). Events are immutable, so the ones
   * of one revision are built once and shared by every watcher (`cache`, two slots per change:
   * without and with the previous key-value).
   */
  #eventsFor(
    watcher: Watcher,
    changes: readonly KeyChange[],
    revision: number,
    cache: (WatchEvent | undefined)[] = [],
  ): WatchEvent[] {
    const { noPut, noDelete, prevKv } = watcher.request;
    const events: WatchEvent[] = [];
    for (let index = 0; index < changes.length; index++) {
      const change = changes[index] as KeyChange;
      if (!watcher.covers(change.key)) continue;
      const isPut = change.entry !== undefined;
      if ((isPut && noPut) || (!isPut && noDelete)) continue;
      const withPrevious = prevKv && change.previous !== undefined;
      const slot = 2 * index + (withPrevious ? 1 : 0);
      let event = cache[slot];
      if (event === undefined) {
        const kv =
          change.entry === undefined
            ? { key: change.key, value: '', createRevision: 0, modRevision: revision, version: 0 }
            : keyValueOf(change.key, change.entry, change.entryLease);
        event = { type: isPut ? 'put' : 'delete', kv };
        if (withPrevious) {
          event.prevKv = keyValueOf(change.key, change.previous as string, change.previousLease);
        }
        cache[slot] = event;
      }
      events.push(event);
    }
    return events;
  }

  /**
   * The apply loop committed `revision`: offer it to every synced watcher, one message per group
   * of watchers that select the same events, shared by them.
   */
  #committed(revision: number): void {
    if (this.#synced.size === 0) return;
    let changes: KeyChange[] | undefined;
    const cache: (WatchEvent | undefined)[] = [];
    for (const group of this.#synced.values()) {
      let message: WatchMessage | undefined;
      let matched = false;
      for (const watcher of group) {
        // A watcher whose start revision is still ahead waits for it.
        if (watcher.nextRevision !== revision) continue;
        if (!matched) {
          matched = true;
          changes ??= this.#store.changesAt(revision);
          const events = this.#eventsFor(watcher, changes, revision, cache);
          if (events.length > 0)
            message = { kind: 'events', revision, headerRevision: revision, events };
        }
        if (message === undefined) {
          watcher.nextRevision = revision + 1;
        } else if (watcher.hasRoom(this.#capacity)) {
          watcher.push(message);
          watcher.nextRevision = revision + 1;
        } else {
          // Full: stop offering it anything; it catches up from history once it has room.
          this.#setSynced(watcher, false);
        }
      }
    }
  }

  /** The state was replaced (snapshot restore): every watcher catches up from the new history. */
  #replaced(): void {
    for (const watcher of this.#watchers) this.#setSynced(watcher, false);
    if (this.#watchers.size > 0) this.scheduleCatchUp();
  }

  #catchUp(): void {
    let budget = CATCH_UP_REVISIONS_PER_TURN;
    let sharedBudget = CATCH_UP_SHARED_PER_TURN;
    let behind = false;
    // What this turn read, by revision, and the message each selector got from it: watchers
    // catching up over the same revisions (a thousand watchers of one prefix whose client host
    // reads slowly) share the events and their encoding, as synced watchers do.
    const read = new Map<
      number,
      {
        changes: KeyChange[];
        cache: (WatchEvent | undefined)[];
        messages: Map<string, WatchMessage | null>;
      }
    >();
    for (const watcher of this.#watchers) {
      if (watcher.synced) continue;
      const current = this.#store.revision;
      if (watcher.nextRevision < this.#store.firstChangeRevision) {
        // Its next revision is compacted: etcd cancels it with the compact revision.
        if (watcher.nextRevision <= this.#store.compactRevision) {
          this.cancel(watcher);
          watcher.push({ kind: 'canceled', compactRevision: this.#store.compactRevision });
          continue;
        }
        // Below the first change ever made (revision 1): nothing to report.
        watcher.nextRevision = this.#store.firstChangeRevision;
      }
      while (
        watcher.nextRevision <= current &&
        watcher.hasRoom(this.#capacity) &&
        budget > 0 &&
        sharedBudget > 0
      ) {
        const revision = watcher.nextRevision;
        let seen = read.get(revision);
        if (seen === undefined) {
          seen = { changes: this.#store.changesAt(revision), cache: [], messages: new Map() };
          read.set(revision, seen);
          budget--;
        } else {
          sharedBudget--;
        }
        let message = seen.messages.get(watcher.selector);
        if (message === undefined) {
          const events = this.#eventsFor(watcher, seen.changes, revision, seen.cache);
          message =
            events.length === 0
              ? null
              : { kind: 'events', revision, headerRevision: current, events };
          seen.messages.set(watcher.selector, message);
        }
        if (message !== null) watcher.push(message);
        watcher.nextRevision = revision + 1;
      }
      if (watcher.nextRevision > current) {
        this.#setSynced(watcher, true);
        watcher.caughtUp();
      } else if (watcher.hasRoom(this.#capacity)) behind = true;
    }
    // Out of budget with room left: go on next turn. A full watcher resumes when its consumer
    // takes a message.
    if (behind) this.scheduleCatchUp();
  }
}

const hubs = new WeakMap<KvStore, WatchHub>();

/** The watch hub of `store`, created on first use. */
export function watchHubOf(store: KvStore, options: WatchHubOptions = {}): WatchHub {
  let hub = hubs.get(store);
  if (hub === undefined) {
    hub = new WatchHub(store, options);
    hubs.set(store, hub);
  }
  return hub;
}
