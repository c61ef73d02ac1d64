import type { Clock } from './clock.js';
import type { PeerListener } from './failure-detector.js';
import type { Logger } from './logger.js';
import type { Timers } from './timers.js';

/** What the tracker needs from a failure-detection rule. */
export interface SuspicionTrackerOptions {
  readonly clock: Clock;
  readonly timers: Timers | undefined;
  readonly logger: Logger;
  /**
   * The monotonic time (ms) from which `peer` counts as suspected if nothing more is heard from it;
   * `Infinity` for never. A rule keeps one source of truth this way: queries, events and timers all
   * compare the clock with this deadline, so they can never disagree.
   */
  readonly suspicionDeadline: (peer: string) => number;
}

interface WatchedPeer {
  suspected: boolean;
  /** The pending timer, or undefined. */
  timer: unknown;
  /** When the pending timer fires; Infinity when there is none. */
  timerDueAt: number;
}

/**
 * The bookkeeping every failure detector shares: which peers are watched and suspected, the events
 * on a change, and a timer per peer that fires at its suspicion deadline so the suspected event is
 * raised on time without polling. Internal: the detectors expose it through their own API.
 */
export class SuspicionTracker {
  readonly #options: SuspicionTrackerOptions;
  readonly #peers = new Map<string, WatchedPeer>();
  readonly #suspectedListeners = new Set<PeerListener>();
  readonly #recoveredListeners = new Set<PeerListener>();
  #closed = false;

  constructor(options: SuspicionTrackerOptions) {
    this.#options = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  isWatched(peer: string): boolean {
    return this.#peers.has(peer);
  }

  /** Starts tracking `peer` (not suspected) unless it is already tracked or the tracker is closed. */
  watch(peer: string): void {
    if (this.#closed || this.#peers.has(peer)) return;
    this.#peers.set(peer, { suspected: false, timer: undefined, timerDueAt: Infinity });
  }

  /** Re-evaluates `peer` against its deadline (call after its history changed); may emit an event. */
  update(peer: string): void {
    this.#evaluate(peer);
  }

  isSuspected(peer: string): boolean {
    return this.#evaluate(peer);
  }

  suspectedPeers(): string[] {
    return this.watchedPeers().filter((peer) => this.#evaluate(peer));
  }

  watchedPeers(): string[] {
    return [...this.#peers.keys()];
  }

  forget(peer: string): void {
    const watched = this.#peers.get(peer);
    if (watched === undefined) return;
    this.#cancelTimer(watched);
    this.#peers.delete(peer);
  }

  onSuspected(listener: PeerListener): () => void {
    return subscribe(this.#suspectedListeners, listener);
  }

  onRecovered(listener: PeerListener): () => void {
    return subscribe(this.#recoveredListeners, listener);
  }

  close(): void {
    this.#closed = true;
    for (const watched of this.#peers.values()) this.#cancelTimer(watched);
    this.#peers.clear();
    this.#suspectedListeners.clear();
    this.#recoveredListeners.clear();
  }

  /** Brings `peer`'s state up to date with the clock; returns whether it is suspected. */
  #evaluate(peer: string): boolean {
    const watched = this.#peers.get(peer);
    if (watched === undefined) return false;
    const deadline = this.#options.suspicionDeadline(peer);
    const suspected = this.#options.clock.now() >= deadline;
    if (suspected) this.#cancelTimer(watched);
    else this.#armTimer(peer, watched, deadline);
    if (suspected !== watched.suspected) {
      watched.suspected = suspected;
      // Last, because a listener may forget the peer or close the detector.
      this.#emit(suspected ? this.#suspectedListeners : this.#recoveredListeners, peer);
    }
    return suspected;
  }

  #armTimer(peer: string, watched: WatchedPeer, deadline: number): void {
    const timers = this.#options.timers;
    // A timer due no later than the deadline is kept: when it fires it re-evaluates and re-arms.
    // This saves a cancel and a schedule on every heartbeat, when the deadline only moves later.
    if (timers === undefined || deadline === Infinity || watched.timerDueAt <= deadline) return;
    this.#cancelTimer(watched);
    const delayMs = Math.max(0, deadline - this.#options.clock.now());
    watched.timerDueAt = deadline;
    watched.timer = timers.setTimeout(() => {
      watched.timer = undefined;
      watched.timerDueAt = Infinity;
      this.#evaluate(peer);
    }, delayMs);
  }

  #cancelTimer(watched: WatchedPeer): void {
    if (watched.timer === undefined) return;
    this.#options.timers?.clearTimeout(watched.timer);
    watched.timer = undefined;
    watched.timerDueAt = Infinity;
  }

  #emit(listeners: Set<PeerListener>, peer: string): void {
    for (const listener of [...listeners]) {
      try {
        listener(peer);
      } catch (error) {
        this.#options.logger.error({ peer, error }, 'failure detector listener threw');
      }
    }
  }
}

function subscribe(listeners: Set<PeerListener>, listener: PeerListener): () => void {
  // A wrapper makes each registration distinct, so registering one function twice works as twice.
  const registration: PeerListener = (peer) => listener(peer);
  listeners.add(registration);
  return () => {
    listeners.delete(registration);
  };
}
