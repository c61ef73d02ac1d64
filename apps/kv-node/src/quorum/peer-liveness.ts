/**
 * Who is alive, by `@x/heartbeat`: every member sends a heartbeat to each peer every
 * `--heartbeat-interval`, and a phi-accrual failure detector on the monotonic clock turns the
 * silence of a peer into a suspicion. Any message from a peer counts as a heartbeat. Quorum calls
 * do not wait on suspected members (see `replica-client.ts`).
 */

import { HeartbeatSender, PhiAccrualFailureDetector, nodeClock, nodeTimers } from '@x/heartbeat';
import type { Logger } from '../logging/logger.js';
import { QuorumMessageType } from './quorum-messages.js';

const EMPTY = new Uint8Array(0);

/** Options of {@link PeerLiveness}. */
export interface PeerLivenessOptions {
  readonly peers: readonly string[];
  readonly intervalMs: number;
  /**
   * Silence tolerated on top of the usual heartbeat interval before suspicion rises steeply (a
   * GC pause, a loaded machine), in milliseconds.
   */
  readonly acceptablePauseMs: number;
  readonly send: (peer: string, type: number, payload: Uint8Array) => void;
  readonly logger: Logger;
  /** Called when a peer becomes suspected or recovers. */
  readonly onChange?: (peer: string, suspected: boolean) => void;
}

/** Heartbeats out, suspicion in. */
export class PeerLiveness {
  /** Milliseconds between heartbeats. */
  readonly intervalMs: number;
  readonly #sender: HeartbeatSender;
  readonly #detector: PhiAccrualFailureDetector;

  /** @param options peers, interval, how to send, logger. */
  constructor(options: PeerLivenessOptions) {
    const { peers, intervalMs, logger } = options;
    this.intervalMs = intervalMs;
    this.#detector = new PhiAccrualFailureDetector({
      clock: nodeClock,
      timers: nodeTimers,
      firstHeartbeatEstimateMs: intervalMs,
      acceptableHeartbeatPauseMs: options.acceptablePauseMs,
      minStandardDeviationMs: Math.max(10, intervalMs / 2),
      logger,
    });
    this.#sender = new HeartbeatSender({
      peers,
      intervalMs,
      timers: nodeTimers,
      send: (peer) => options.send(peer, QuorumMessageType.heartbeat, EMPTY),
      logger,
    });
    this.#detector.onSuspected((peer) => {
      logger.warn({ peer, phi: this.phi(peer) }, 'peer suspected down');
      options.onChange?.(peer, true);
    });
    this.#detector.onRecovered((peer) => {
      logger.info({ peer }, 'peer heard from again');
      options.onChange?.(peer, false);
    });
    // Watched from the start: a peer that never answers is suspected after its grace period.
    for (const peer of peers) this.#detector.watch(peer);
  }

  /** Starts sending heartbeats. */
  start(): void {
    this.#sender.start();
  }

  /** Records that `peer` was heard from. */
  heard(peer: string): void {
    this.#detector.heartbeatReceived(peer);
  }

  /** Whether `peer` is suspected down now. */
  isSuspected(peer: string): boolean {
    return this.#detector.isSuspected(peer);
  }

  /** The suspicion level of `peer` (phi; 0 for a peer heard from just now). */
  phi(peer: string): number {
    return this.#detector.phi(peer);
  }

  /** Stops heartbeats and timers. */
  close(): void {
    this.#sender.stop();
    this.#detector.close();
  }
}
