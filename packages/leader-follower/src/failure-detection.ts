import {
  FixedTimeoutFailureDetector,
  PhiAccrualFailureDetector,
  type FailureDetector,
} from '@x/heartbeat';
import type { FailureDetectorKind, Random } from './core-types.js';

/**
 * The core's logical time for `@x/heartbeat`'s failure detectors: one unit per `tick`. Messages
 * handled between two ticks are stamped with the same time, so the simulation stays
 * deterministic and a detector's timeouts are counted in ticks.
 */
export class TickClock {
  private ticks = 0;

  /** Ticks since the core started. */
  now(): number {
    return this.ticks;
  }

  /** One more tick. */
  advance(): void {
    this.ticks++;
  }
}

/** The key under which a follower's detector watches whoever leads (or last restarted its wait). */
const LEADER = 'leader';

/** Timing the detectors are tuned by, in ticks. */
export interface DetectionTiming {
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
  /** Phi at and above which a peer is suspected (phi-accrual only). */
  readonly phiThreshold: number;
}

/**
 * A follower suspects its leader through a {@link FailureDetector} (DESIGN.md §2: "if a heartbeat
 * is missed, the server sending the heartbeat is considered crashed"), and then campaigns.
 *
 * - `fixed` (the default): suspected after a timeout drawn afresh from [t, 2t) ticks for each
 *   election (a new {@link FixedTimeoutFailureDetector} per draw), so two followers rarely time
 *   out together; exactly the classic randomized election timeout.
 * - `phi`: one {@link PhiAccrualFailureDetector} learns the intervals between the leader's
 *   messages; once it suspects the leader, the follower waits a further random [0, t) ticks drawn
 *   per election before campaigning, for the same reason.
 */
export class LeaderSuspicion {
  private detector: FailureDetector;
  private jitterTicks = 0;
  private suspectedSince: number | undefined;

  constructor(
    private readonly kind: FailureDetectorKind,
    private readonly clock: TickClock,
    private readonly random: Random,
    private readonly timing: DetectionTiming,
  ) {
    this.detector =
      kind === 'phi'
        ? new PhiAccrualFailureDetector({
            clock,
            threshold: timing.phiThreshold,
            firstHeartbeatEstimateMs: timing.heartbeatIntervalTicks,
            minStandardDeviationMs: timing.heartbeatIntervalTicks,
            acceptableHeartbeatPauseMs: timing.heartbeatIntervalTicks,
          })
        : this.fixedDetector(timing.electionTimeoutTicks);
    this.newElectionTimeout();
    // The wait for a leader starts now (a fixed detector is watching already).
    this.heard();
  }

  /** Draws the wait for the next election (one random number, whichever the detector). */
  newElectionTimeout(): void {
    const timeout = this.timing.electionTimeoutTicks;
    const draw = Math.floor(this.random.next() * timeout);
    if (this.kind === 'phi') this.jitterTicks = draw;
    else this.setFixedTimeout(timeout + draw);
  }

  /**
   * The first election after start waits only [h, t) ticks (h the heartbeat interval; see
   * `CoreOptions.advanceFirstElection`).
   */
  advanceFirstElection(): void {
    const { electionTimeoutTicks, heartbeatIntervalTicks } = this.timing;
    const shortest = Math.min(heartbeatIntervalTicks, electionTimeoutTicks - 1);
    const draw = Math.floor(this.random.next() * (electionTimeoutTicks - shortest));
    if (this.kind === 'phi') this.jitterTicks = draw;
    else this.setFixedTimeout(shortest + draw);
  }

  /** A leader was heard from (or the wait restarts: a vote granted, a campaign, a new role). */
  heard(): void {
    this.detector.heartbeatReceived(LEADER);
    this.suspectedSince = undefined;
  }

  /** Whether the follower now suspects its leader and should campaign. */
  suspectsLeader(): boolean {
    if (!this.detector.isSuspected(LEADER)) return false;
    if (this.kind === 'fixed') return true;
    this.suspectedSince ??= this.clock.now();
    return this.clock.now() - this.suspectedSince >= this.jitterTicks;
  }

  /** Whether the leader is suspected now (for operators). */
  get leaderSuspected(): boolean {
    return this.detector.isSuspected(LEADER);
  }

  /** The phi of the leader now (phi-accrual only). */
  get leaderPhi(): number | undefined {
    return this.detector instanceof PhiAccrualFailureDetector
      ? this.detector.phi(LEADER)
      : undefined;
  }

  private setFixedTimeout(timeoutTicks: number): void {
    this.detector.close();
    this.detector = this.fixedDetector(timeoutTicks);
    this.detector.heartbeatReceived(LEADER);
  }

  private fixedDetector(timeoutTicks: number): FixedTimeoutFailureDetector {
    return new FixedTimeoutFailureDetector({ clock: this.clock, timeoutMs: timeoutTicks });
  }
}

/**
 * A leader's per-follower liveness through a {@link FailureDetector}, for check-quorum (rule 6)
 * and operators. A follower counts as live once heard from this leadership and while not
 * suspected. With `fixed`, suspected after t + 1 ticks of silence: at a check-quorum every t
 * ticks, exactly the followers heard from since the previous check are live.
 */
export class FollowerLiveness {
  private detector: FailureDetector;

  constructor(
    private readonly kind: FailureDetectorKind,
    private readonly clock: TickClock,
    private readonly timing: DetectionTiming,
  ) {
    this.detector = this.newDetector();
  }

  /** A new leadership: nobody has been heard from yet. */
  restart(): void {
    this.detector.close();
    this.detector = this.newDetector();
  }

  /** Any message from `peer` counts as a heartbeat. */
  heard(peer: string): void {
    this.detector.heartbeatReceived(peer);
  }

  /** Heard from this leadership and not suspected now. */
  isLive(peer: string): boolean {
    return this.detector.watchedPeers().includes(peer) && !this.detector.isSuspected(peer);
  }

  /** Whether the detector suspects `peer` now (false for a peer not heard from yet). */
  isSuspected(peer: string): boolean {
    return this.detector.isSuspected(peer);
  }

  /** The phi of `peer` now (phi-accrual only). */
  phi(peer: string): number | undefined {
    return this.detector instanceof PhiAccrualFailureDetector ? this.detector.phi(peer) : undefined;
  }

  private newDetector(): FailureDetector {
    const { electionTimeoutTicks, heartbeatIntervalTicks, phiThreshold } = this.timing;
    if (this.kind === 'phi') {
      return new PhiAccrualFailureDetector({
        clock: this.clock,
        threshold: phiThreshold,
        firstHeartbeatEstimateMs: heartbeatIntervalTicks,
        minStandardDeviationMs: heartbeatIntervalTicks,
        acceptableHeartbeatPauseMs: heartbeatIntervalTicks,
      });
    }
    return new FixedTimeoutFailureDetector({
      clock: this.clock,
      timeoutMs: electionTimeoutTicks + 1,
    });
  }
}
