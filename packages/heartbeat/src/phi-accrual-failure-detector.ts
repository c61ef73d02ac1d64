import type { Clock } from './clock.js';
import type { FailureDetector, PeerListener } from './failure-detector.js';
import { HeartbeatHistory } from './heartbeat-history.js';
import { silentLogger } from './logger.js';
import type { Logger } from './logger.js';
import { phi, phiThresholdInStandardDeviations } from './phi.js';
import { SuspicionTracker } from './suspicion-tracker.js';
import type { Timers } from './timers.js';
import { requireIntegerAtLeast, requireNonNegative, requirePositive } from './validate.js';

/**
 * Options for {@link PhiAccrualFailureDetector}. Defaults are Akka's, except the acceptable pause
 * (Akka Cluster uses 3 s with its 1 s heartbeats; here it is 0, to be set for your interval).
 */
export interface PhiAccrualFailureDetectorOptions {
  /** Monotonic time. Never pass a wall clock: a jump would cause or hide suspicions. */
  readonly clock: Clock;
  /**
   * Phi at and above which a peer is suspected. Phi 8 (the default, as in Akka and Cassandra)
   * accepts a 1e-8 chance that the peer was fine after all. Lower detects sooner and errs more.
   */
  readonly threshold?: number;
  /** How many recent heartbeat intervals the statistics use. Default 1000. */
  readonly windowSize?: number;
  /**
   * Floor of the standard deviation in milliseconds, so perfectly regular heartbeats do not make
   * the detector suspect a peer the moment one is a little late. Default 100.
   */
  readonly minStandardDeviationMs?: number;
  /**
   * Milliseconds of extra silence to tolerate on top of the observed mean (a GC pause, a
   * brief network hiccup): added to the mean interval. Default 0.
   */
  readonly acceptableHeartbeatPauseMs?: number;
  /**
   * The expected heartbeat interval in milliseconds before any has been measured; the history
   * starts as two samples at this estimate ± 25%. Set it to the sender's interval. Default 1000.
   */
  readonly firstHeartbeatEstimateMs?: number;
  /** If given, the suspected event is raised on time by a timer; otherwise only when the detector is used. */
  readonly timers?: Timers;
  /** Reports listeners that threw. Default: silent. */
  readonly logger?: Logger;
}

interface PeerHistory {
  lastHeartbeatAt: number;
  readonly intervals: HeartbeatHistory;
}

/**
 * The phi-accrual failure detector of Hayashibara, Défago, Yared and Katayama (2004), as in
 * Akka and Cassandra. Instead of a yes/no timeout it learns the distribution of each peer's
 * heartbeat intervals (mean and standard deviation over a sliding window) and computes phi, a
 * suspicion level that rises continuously with silence: phi = -log10(P(a heartbeat is still to
 * come)). A peer is suspected when phi reaches the threshold. A regular peer is suspected soon
 * after it stops; a jittery one (a loaded network) is given proportionally more time.
 *
 * An interval that ends a suspicion (a long pause) is not added to the statistics, so one
 * pause does not make the detector lenient for the next thousand heartbeats.
 */
export class PhiAccrualFailureDetector implements FailureDetector {
  readonly #clock: Clock;
  readonly #threshold: number;
  readonly #thresholdInStandardDeviations: number;
  readonly #windowSize: number;
  readonly #minStandardDeviationMs: number;
  readonly #acceptableHeartbeatPauseMs: number;
  readonly #firstHeartbeatEstimateMs: number;
  readonly #histories = new Map<string, PeerHistory>();
  readonly #tracker: SuspicionTracker;

  /** @throws RangeError if an option is out of range (threshold, minimum standard deviation and first estimate must be > 0, pause >= 0, window an integer >= 2). */
  constructor(options: PhiAccrualFailureDetectorOptions) {
    this.#clock = options.clock;
    this.#threshold = options.threshold ?? 8;
    this.#thresholdInStandardDeviations = phiThresholdInStandardDeviations(this.#threshold);
    this.#windowSize = options.windowSize ?? 1000;
    requireIntegerAtLeast('windowSize', this.#windowSize, 2);
    this.#minStandardDeviationMs = options.minStandardDeviationMs ?? 100;
    requirePositive('minStandardDeviationMs', this.#minStandardDeviationMs);
    this.#acceptableHeartbeatPauseMs = options.acceptableHeartbeatPauseMs ?? 0;
    requireNonNegative('acceptableHeartbeatPauseMs', this.#acceptableHeartbeatPauseMs);
    this.#firstHeartbeatEstimateMs = options.firstHeartbeatEstimateMs ?? 1000;
    requirePositive('firstHeartbeatEstimateMs', this.#firstHeartbeatEstimateMs);
    this.#tracker = new SuspicionTracker({
      clock: options.clock,
      timers: options.timers,
      logger: options.logger ?? silentLogger,
      suspicionDeadline: (peer) => this.#suspicionDeadline(peer),
    });
  }

  /** Phi at and above which a peer is suspected. */
  get threshold(): number {
    return this.#threshold;
  }

  /** {@inheritDoc FailureDetector.heartbeatReceived} */
  heartbeatReceived(peer: string): void {
    if (this.#tracker.closed) return;
    const now = this.#clock.now();
    const history = this.#histories.get(peer);
    if (history === undefined) {
      this.#histories.set(peer, { lastHeartbeatAt: now, intervals: this.#seededHistory() });
      this.#tracker.watch(peer);
    } else {
      // Evaluated before the interval is recorded: the interval that ends a suspicion is a pause,
      // not a sample of normal behaviour. Asking the tracker also raises the suspected event if
      // the deadline passed unnoticed, so listeners see suspected before recovered.
      if (!this.#tracker.isSuspected(peer)) history.intervals.add(now - history.lastHeartbeatAt);
      history.lastHeartbeatAt = now;
    }
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
    this.#histories.delete(peer);
  }

  /**
   * The current suspicion level of `peer` (see {@link phi}): 0 for a peer not watched, growing
   * with its silence. The peer is suspected while this is at or above {@link PhiAccrualFailureDetector.threshold}.
   */
  phi(peer: string): number {
    const history = this.#histories.get(peer);
    if (history === undefined) return 0;
    return phi(
      this.#clock.now() - history.lastHeartbeatAt,
      history.intervals.mean() + this.#acceptableHeartbeatPauseMs,
      this.#standardDeviation(history),
    );
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
    this.#histories.clear();
  }

  /** The time at which phi reaches the threshold: a fixed number of deviations past the mean. */
  #suspicionDeadline(peer: string): number {
    const history = this.#histories.get(peer);
    if (history === undefined) return Infinity;
    return (
      history.lastHeartbeatAt +
      history.intervals.mean() +
      this.#acceptableHeartbeatPauseMs +
      this.#thresholdInStandardDeviations * this.#standardDeviation(history)
    );
  }

  #standardDeviation(history: PeerHistory): number {
    return Math.max(history.intervals.standardDeviation(), this.#minStandardDeviationMs);
  }

  #seededHistory(): HeartbeatHistory {
    const history = new HeartbeatHistory(this.#windowSize);
    const deviation = this.#firstHeartbeatEstimateMs / 4;
    history.add(this.#firstHeartbeatEstimateMs - deviation);
    history.add(this.#firstHeartbeatEstimateMs + deviation);
    return history;
  }
}
