import { silentLogger } from './logger.js';
import type { Logger } from './logger.js';
import type { Timers } from './timers.js';
import { requirePositive } from './validate.js';

/** Options for {@link HeartbeatSender}. */
export interface HeartbeatSenderOptions {
  /** The peers to send heartbeats to; more can be added with {@link HeartbeatSender.addPeer}. */
  readonly peers?: Iterable<string>;
  /** Milliseconds between two heartbeats to the same peer. etcd's default is 100. */
  readonly intervalMs: number;
  /** Schedules the heartbeats (real timers in production, virtual ones in tests). */
  readonly timers: Timers;
  /**
   * Sends one heartbeat to `peer`. Should not block and should not throw; a throw is logged and
   * the peer's heartbeats continue, as a lossy network would behave.
   */
  readonly send: (peer: string) => void;
  /**
   * Whether {@link HeartbeatSender.start} (and {@link HeartbeatSender.addPeer} while running) sends
   * at once rather than one interval later. Default `true`: a new leader announces itself at once.
   */
  readonly sendImmediately?: boolean;
  /** Reports a `send` callback that threw. Default: silent. */
  readonly logger?: Logger;
}

/**
 * Calls a `send` callback for every peer once per interval, so the peers' failure detectors keep
 * hearing from this process. It owns no transport: the callback decides what a heartbeat is (an
 * empty append request, a ping) and how it travels.
 *
 * Each peer has its own schedule, so {@link HeartbeatSender.deferNextHeartbeat} can skip a
 * heartbeat for a peer that just received another message (which proves liveness just as well).
 */
export class HeartbeatSender {
  readonly #intervalMs: number;
  readonly #timers: Timers;
  readonly #send: (peer: string) => void;
  readonly #sendImmediately: boolean;
  readonly #logger: Logger;
  /** Every peer, with its pending timer handle while running (undefined while stopped). */
  readonly #peers = new Map<string, unknown>();
  #running = false;

  /** @throws RangeError if `intervalMs` is not a finite number greater than 0. */
  constructor(options: HeartbeatSenderOptions) {
    requirePositive('intervalMs', options.intervalMs);
    this.#intervalMs = options.intervalMs;
    this.#timers = options.timers;
    this.#send = options.send;
    this.#sendImmediately = options.sendImmediately ?? true;
    this.#logger = options.logger ?? silentLogger;
    for (const peer of options.peers ?? []) this.#peers.set(peer, undefined);
  }

  /** Milliseconds between two heartbeats to the same peer. */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** Whether heartbeats are being sent (between {@link HeartbeatSender.start} and {@link HeartbeatSender.stop}). */
  get running(): boolean {
    return this.#running;
  }

  /** The peers heartbeats go to, in the order they were added. */
  peers(): string[] {
    return [...this.#peers.keys()];
  }

  /** Starts sending heartbeats to every peer. Calling it while running does nothing. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    // A snapshot: a peer added by a `send` callback during this loop is begun by addPeer itself.
    for (const peer of [...this.#peers.keys()]) this.#begin(peer);
  }

  /** Stops every heartbeat; nothing is sent after it returns. Calling it while stopped does nothing. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    for (const [peer, handle] of this.#peers) {
      this.#timers.clearTimeout(handle);
      this.#peers.set(peer, undefined);
    }
  }

  /** Adds a peer; while running, its heartbeats begin at once. Adding a known peer does nothing. */
  addPeer(peer: string): void {
    if (this.#peers.has(peer)) return;
    this.#peers.set(peer, undefined);
    if (this.#running) this.#begin(peer);
  }

  /** Removes a peer and cancels its heartbeats. Removing an unknown peer does nothing. */
  removePeer(peer: string): void {
    if (!this.#peers.has(peer)) return;
    this.#timers.clearTimeout(this.#peers.get(peer));
    this.#peers.delete(peer);
  }

  /**
   * Restarts `peer`'s interval: its next heartbeat is sent a full interval from now. Call it after
   * sending the peer any other message, which tells it this process is alive just as well.
   * Does nothing for an unknown peer or while stopped.
   */
  deferNextHeartbeat(peer: string): void {
    if (!this.#running || !this.#peers.has(peer)) return;
    this.#timers.clearTimeout(this.#peers.get(peer));
    this.#schedule(peer);
  }

  #begin(peer: string): void {
    if (this.#sendImmediately) this.#beat(peer);
    else this.#schedule(peer);
  }

  #schedule(peer: string): void {
    this.#peers.set(
      peer,
      this.#timers.setTimeout(() => this.#beat(peer), this.#intervalMs),
    );
  }

  #beat(peer: string): void {
    // Schedule first: the callback may stop the sender or remove the peer, and that must win.
    this.#schedule(peer);
    try {
      this.#send(peer);
    } catch (error) {
      this.#logger.error({ peer, error }, 'heartbeat send callback threw');
    }
  }
}
