/**
 * Writes a set of watchers' messages to one HTTP response as the socket accepts them: a
 * watcher's queue is only taken from while the response is not backpressured, so a client that
 * stops reading leaves its watchers' queues full (bounded) and them unsynced, and the apply loop
 * never waits for it. Shared by the etcd gateway stream and the Server-Sent Events stream.
 */

import type { ServerResponse } from 'node:http';
import type { WatchHub, WatchMessage, Watcher } from '../watch/watch-hub.js';

/** One response carrying the messages of its watchers, each encoded by `encode`. */
export class WatchStream<Id> {
  readonly #response: ServerResponse;
  readonly #hub: WatchHub;
  readonly #encode: (id: Id, message: WatchMessage) => string | undefined;
  readonly #watchers = new Map<Id, Watcher>();
  #waitingForDrain = false;
  #pumping = false;
  #pumpScheduled = false;
  #closed = false;

  /**
   * @param encode the text to write for a message of watcher `id` (`undefined`: nothing).
   */
  constructor(
    response: ServerResponse,
    hub: WatchHub,
    encode: (id: Id, message: WatchMessage) => string | undefined,
  ) {
    this.#response = response;
    this.#hub = hub;
    this.#encode = encode;
    response.on('drain', () => {
      this.#waitingForDrain = false;
      this.pump();
    });
    response.on('close', () => this.close());
  }

  /** Whether the stream has ended (client gone or closed). */
  get closed(): boolean {
    return this.#closed;
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

  /** Writes text directly (created and cancelled answers); respects backpressure like `pump`. */
  write(text: string): void {
    if (this.#closed) return;
    if (!this.#response.write(text)) this.#waitingForDrain = true;
  }

  /** Writes queued messages until the socket pushes back. */
  pump(): void {
    if (this.#closed || this.#waitingForDrain || this.#pumping) return;
    this.#pumping = true;
    try {
      for (const [id, watcher] of this.#watchers) {
        for (let message = watcher.take(); message !== undefined; message = watcher.take()) {
          if (message.kind === 'canceled') this.#watchers.delete(id);
          const text = this.#encode(id, message);
          if (text !== undefined && !this.#response.write(text)) {
            this.#waitingForDrain = true;
            return;
          }
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Cancels every watcher and ends the response. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const watcher of this.#watchers.values()) this.#hub.cancel(watcher);
    this.#watchers.clear();
    if (!this.#response.writableEnded) this.#response.end();
  }
}
