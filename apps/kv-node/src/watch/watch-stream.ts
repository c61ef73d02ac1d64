/**
 * Writes a set of watchers' messages to one output (an HTTP response, a gRPC stream) as it
 * accepts them: a watcher's queue is only taken from while the output is not backpressured, so a
 * client that stops reading leaves its watchers' queues full (bounded) and them unsynced, and the
 * apply loop never waits for it. Shared by the etcd gateway stream, the Server-Sent Events stream
 * and the gRPC Watch service; the transport is only a {@link WatchOutput}.
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
}

/** One output carrying the messages of its watchers, each encoded by `encode`. */
export class WatchStream<Id, Out> {
  readonly #output: WatchOutput<Out>;
  readonly #hub: WatchHub;
  readonly #encode: (id: Id, message: WatchMessage) => readonly Out[];
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
  ) {
    this.#output = output;
    this.#hub = hub;
    this.#encode = encode;
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
    try {
      for (const [id, watcher] of this.#watchers) {
        for (let message = watcher.take(); message !== undefined; message = watcher.take()) {
          if (message.kind === 'canceled') this.#watchers.delete(id);
          let accepted = true;
          for (const item of this.#encode(id, message)) {
            if (!this.#output.write(item)) accepted = false;
          }
          if (!accepted) {
            this.#waitingForDrain = true;
            return;
          }
        }
      }
    } finally {
      this.#pumping = false;
    }
    for (const listener of this.#idleListeners) listener();
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
