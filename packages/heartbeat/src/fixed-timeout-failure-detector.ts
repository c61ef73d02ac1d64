import type { Clock } from './clock.js';
import type { FailureDetector, PeerListener } from './failure-detector.js';
import { silentLogger } from './logger.js';
import type { Logger } from './logger.js';
import { SuspicionTracker } from './suspicion-tracker.js';
import type { Timers } from './timers.js';
import { requirePositive } from './validate.js';

/** Options for {@link FixedTimeoutFailureDetector}. */
export interface FixedTimeoutFailureDetectorOptions {
  /** Monotonic time. Never pass a wall clock: a jump would cause or hide suspicions. */
  readonly clock: Clock;
  /**
   * Milliseconds of silence after which a peer is suspected. Choose several heartbeat intervals
   * (etcd: heartbeat 100 ms, election timeout 1000 ms) so one lost heartbeat is not a failure.
   */
  readonly timeoutMs: number;
  /** If given, the suspected event is raised on time by a timer; otherwise only when the detector is used. */
  readonly timers?: Timers;
  /** Reports listeners that threw. Default: silent. */
  readonly logger?: Logger;
}

/**
 * The simplest failure detector: a peer is suspected once it has been silent for `timeoutMs`
 * (from its last heartbeat, or from {@link FixedTimeoutFailureDetector.watch}).
 *
 * Easy to reason about, but the timeout is a fixed trade-off: short detects crashes fast and
 * mistakes slow peers for dead ones; long does the opposite. {@link PhiAccrualFailureDetector}
 * adapts to the heartbeat arrivals it observes instead.
 */
export class FixedTimeoutFailureDetector implements FailureDetector {
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #lastHeartbeatAt = new Map<string, number>();
  readonly #tracker: SuspicionTracker;

  /** @throws RangeError if `timeoutMs` is not a finite number greater than 0. */
  constructor(options: FixedTimeoutFailureDetectorOptions) {
    requirePositive('timeoutMs', options.timeoutMs);
    this.#clock = options.clock;
    this.#timeoutMs = options.timeoutMs;
    this.#tracker = new SuspicionTracker({
      clock: options.clock,
      timers: options.timers,
      logger: options.logger ?? silentLogger,
      suspicionDeadline: (peer) => (this.#lastHeartbeatAt.get(peer) ?? -Infinity) + this.#timeoutMs,
    });
  }

  /** Milliseconds of silence after which a peer is suspected. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** {@inheritDoc FailureDetector.heartbeatReceived} */
  heartbeatReceived(peer: string): void {
    if (this.#tracker.closed) return;
    // A deadline that passed unnoticed (no timers) is reported first, so listeners see
    // suspected before recovered rather than nothing at all.
    this.#tracker.update(peer);
    this.#lastHeartbeatAt.set(peer, this.#clock.now());
    this.#tracker.watch(peer);
    this.#tracker.update(peer);
  }

  /** {@inheritDoc FailureDetector.watch} */
  watch(peer: string): void {
    if (this.#tracker.closed || this.#tracker.isWatched(peer)) return;
    this.heartbeatReceived(peer);
  }

  /** {@inheritDoc FailureDetector.forget} */
  forget(peer: string): void {
    this.#tracker.forget(peer);
    this.#lastHeartbeatAt.delete(peer);
  }

  /**
   * Milliseconds since `peer` was last heard from (or watched), by the monotonic clock;
   * `undefined` for a peer not watched.
   */
  silenceMs(peer: string): number | undefined {
    const last = this.#lastHeartbeatAt.get(peer);
    return last === undefined ? undefined : this.#clock.now() - last;
  }

  /** {@inheritDoc FailureDetector.isSuspected} */
  isSuspected(peer: string): boolean {
    return this.#tracker.isSuspected(peer);
  }

  /** {@inheritDoc FailureDetector.suspectedPeers} */
  suspectedPeers(): string[] {
    return this.#tracker.suspectedPeers();
  }

  /** {@inheritDoc FailureDetector.watchedPeers} */
  watchedPeers(): string[] {
    return this.#tracker.watchedPeers();
  }

  /** {@inheritDoc FailureDetector.onSuspected} */
  onSuspected(listener: PeerListener): () => void {
    return this.#tracker.onSuspected(listener);
  }

  /** {@inheritDoc FailureDetector.onRecovered} */
  onRecovered(listener: PeerListener): () => void {
    return this.#tracker.onRecovered(listener);
  }

  /** {@inheritDoc FailureDetector.close} */
  close(): void {
    this.#tracker.close();
    this.#lastHeartbeatAt.clear();
  }
}
