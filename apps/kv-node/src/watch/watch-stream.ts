/**
 * Writes a set of watchers' messages to one output (an HTTP response, a gRPC stream) as it
 * accepts them: a watcher's queue is only taken from while the output is not backpressured, so a
 * client that stops reading leaves its watchers' queues full (bounded) and them unsynced, and the
 * apply loop never waits for it. Shared by the etcd gateway stream, the Server-Sent Events stream
 * and the gRPC Watch service; the transport is only a {@link WatchOutput}.
 *
 * What one pass takes is written together: consecutive event messages of one watcher may be
 * coalesced into one (a response may carry several revisions' events, whole revisions in
 * order, as etcd's do), and an output that can write several items at once gets them in one
 * write. With a thousand streams, each write is a syscall and a chunk; a pass after an apply
 * batch that committed many revisions then costs one write per stream, not one per revision.
 */

import type { WatchHub, WatchMessage, Watcher } from './watch-hub.js';

/** Where a watch stream writes: what it needs of an HTTP response or a gRPC call. */
export interface WatchOutput<Out> {
  /** Writes one item; `false` when the transport's buffer is full (wait for drain). */
  write(item: Out): boolean;
  /** Calls `listener` whenever the transport can take writes again after a `false`. */
  onDrain(listener: () => void): void;
  /** Calls `listener` once the transport has closed (client gone, or ended). */
  onClose(listener: () => void): void;
  /** Ends the transport (once). */
  end(): void;
  /**
   * Writes several items at once (one syscall, where the transport can), with `write`'s result;
   * absent: each item is written with `write`.
   */
  writeAll?(items: readonly Out[]): boolean;
}

/** Options of {@link WatchStream}. */
export interface WatchStreamOptions<Id> {
  /**
   * Whether the consecutive event messages of watcher `id` that one pass finds queued may be
   * sent as one message (default: never). The transport's protocol must allow a message to
   * carry several revisions.
   */
  coalesce?: (id: Id) => boolean;
}

/** Most items one pass gathers before it writes them (and looks at backpressure). */
const ITEMS_PER_WRITE = 64;
/** Most events one coalesced message carries (whole revisions; a bigger revision goes alone). */
const EVENTS_PER_COALESCED_MESSAGE = 1000;

/**
 * The messages taken from a watcher in one pass, with runs of event messages merged into one:
 * each carries whole revisions in revision order, and the header revision of the last (the
 * highest, which covers them all). Messages are shared between watchers, so merging builds new
 * ones.
 */
function coalesced(messages: readonly WatchMessage[]): WatchMessage[] {
  const merged: WatchMessage[] = [];
  let run: Extract<WatchMessage, { kind: 'events' }> | undefined;
  let runShared = true;
  for (const message of messages) {
    if (
      message.kind !== 'events' ||
      run === undefined ||
      run.events.length + message.events.length > EVENTS_PER_COALESCED_MESSAGE
    ) {
      if (run !== undefined) merged.push(run);
      run = message.kind === 'events' ? message : undefined;
      runShared = true;
      if (run === undefined) merged.push(message);
      continue;
    }
    if (runShared) {
      run = { ...run, events: run.events.slice() };
      runShared = false;
    }
    run.events.push(...message.events);
    run.revision = message.revision;
    run.headerRevision = Math.max(run.headerRevision, message.headerRevision);
  }
  if (run !== undefined) merged.push(run);
  return merged;
}

/** One output carrying the messages of its watchers, each encoded by `encode`. */
export class WatchStream<Id, Out> {
  readonly #output: WatchOutput<Out>;
  readonly #hub: WatchHub;
  readonly #encode: (id: Id, message: WatchMessage) => readonly Out[];
  readonly #coalesce: (id: Id) => boolean;
  readonly #watchers = new Map<Id, Watcher>();
  readonly #idleListeners: (() => void)[] = [];
  #waitingForDrain = false;
  #pumping = false;
  #pumpScheduled = false;
  #closed = false;

  /**
   * @param encode the items to write for a message of watcher `id` (none: nothing to write).
   */
  constructor(
    output: WatchOutput<Out>,
    hub: WatchHub,
    encode: (id: Id, message: WatchMessage) => readonly Out[],
    options: WatchStreamOptions<Id> = {},
  ) {
    this.#output = output;
    this.#hub = hub;
    this.#encode = encode;
    this.#coalesce = options.coalesce ?? (() => false);
    output.onDrain(() => {
      this.#waitingForDrain = false;
      this.pump();
    });
    output.onClose(() => this.close());
  }

  /** Whether the stream has ended (client gone or closed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the output pushes back (nothing more is written until it drains). */
  get backpressured(): boolean {
    return this.#waitingForDrain;
  }

  /**
   * Calls `listener` after each pass that wrote every queued message without the output pushing
   * back (to resume reading requests, or to answer a progress request once caught up).
   */
  onIdle(listener: () => void): void {
    this.#idleListeners.push(listener);
  }

  /** The watchers, by id. */
  get watchers(): ReadonlyMap<Id, Watcher> {
    return this.#watchers;
  }

  /** Adds a watcher under `id` (created with {@link WatchStream.readable} as its callback). */
  add(id: Id, watcher: Watcher): void {
    this.#watchers.set(id, watcher);
    this.pump();
  }

  /** Cancels and forgets the watcher `id`; returns whether there was one. */
  remove(id: Id): boolean {
    const watcher = this.#watchers.get(id);
    if (watcher === undefined) return false;
    this.#hub.cancel(watcher);
    this.#watchers.delete(id);
    return true;
  }

  /** The callback to give the hub: a message was queued. */
  readonly readable = (): void => {
    // Queued from the apply loop: write once it has returned, never inside apply.
    if (this.#pumping || this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.pump();
    });
  };

  /**
   * Writes an item directly (created, cancelled and progress answers), after what is already
   * written. It is written even under backpressure (the caller bounds how many it makes: the
   * gRPC stream stops reading requests while backpressured), and `pump` then waits for drain.
   */
  write(item: Out): void {
    if (this.#closed) return;
    if (!this.#output.write(item)) this.#waitingForDrain = true;
  }

  /** Writes queued messages until the output pushes back. */
  pump(): void {
    if (this.#closed || this.#waitingForDrain || this.#pumping) return;
    this.#pumping = true;
    const pending: Out[] = [];
    try {
      for (const [id, watcher] of this.#watchers) {
        const taken: WatchMessage[] = [];
        for (let message = watcher.take(); message !== undefined; message = watcher.take()) {
          taken.push(message);
          // Nothing comes after a cancellation.
          if (message.kind === 'canceled') this.#watchers.delete(id);
        }
        if (taken.length === 0) continue;
        for (const message of this.#coalesce(id) ? coalesced(taken) : taken) {
          for (const item of this.#encode(id, message)) pending.push(item);
        }
        // What was taken is written whatever the output says; the next pass waits for drain.
        if (pending.length >= ITEMS_PER_WRITE && !this.#writePending(pending)) {
          this.#waitingForDrain = true;
          return;
        }
      }
      if (!this.#writePending(pending)) {
        this.#waitingForDrain = true;
        return;
      }
    } finally {
      this.#pumping = false;
    }
    for (const listener of this.#idleListeners) listener();
  }

  /** Writes and clears `items`; whether the output still accepts writes. */
  #writePending(items: Out[]): boolean {
    if (items.length === 0) return true;
    let accepted: boolean;
    if (this.#closed) accepted = false;
    else if (items.length === 1) accepted = this.#output.write(items[0] as Out);
    else if (this.#output.writeAll !== undefined) accepted = this.#output.writeAll(items);
    else {
      accepted = true;
      for (const item of items) if (!this.#output.write(item)) accepted = false;
    }
    items.length = 0;
    return accepted;
  }

  /** Cancels every watcher and ends the output. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const watcher of this.#watchers.values()) this.#hub.cancel(watcher);
    this.#watchers.clear();
    this.#output.end();
  }
}
