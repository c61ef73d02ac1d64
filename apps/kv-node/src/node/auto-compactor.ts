/**
 * etcd's automatic compaction (`--auto-compaction-mode`, `--auto-compaction-retention`), decided
 * by the leader and applied through the log, so every member compacts at the same revision.
 *
 * Periodic mode keeps `retention` of time: every tenth of the retention (at most an hour apart)
 * each member samples its revision; the leader compacts at the newest sample at least
 * `retention` old. Every member samples, so a new leader can go on at once. Revision mode keeps
 * `retention` revisions: every check, the leader compacts at `revision - retention`.
 */

import type { AutoCompactionConfig } from '../config/node-config.js';
import type { Logger } from '../logging/logger.js';

const LONGEST_PERIODIC_CHECK_MS = 3_600_000;

/** What the compactor reads and does; narrow so tests can drive it on a virtual clock. */
export interface AutoCompactorPorts {
  /** Monotonic milliseconds. */
  now(): number;
  setInterval(callback: () => void, intervalMs: number): unknown;
  clearInterval(handle: unknown): void;
  /** Whether this member leads now (only the leader proposes compactions). */
  isLeader(): boolean;
  /** The local store's revision and compact revision. */
  revisions(): { revision: number; compactRevision: number };
  /** Proposes a compaction at `revision` through the log; resolves once applied. */
  compact(revision: number): Promise<void>;
  logger: Logger;
}

/** Runs automatic compaction on a timer (see the module comment). */
export class AutoCompactor {
  readonly #config: AutoCompactionConfig;
  readonly #ports: AutoCompactorPorts;
  readonly #checkIntervalMs: number;
  /** Periodic mode: (time, revision) samples, oldest first. */
  #samples: { at: number; revision: number }[] = [];
  #handle: unknown;
  #inFlight = false;

  /**
   * @param config the mode and retention.
   * @param ports see {@link AutoCompactorPorts}.
   */
  constructor(config: AutoCompactionConfig, ports: AutoCompactorPorts) {
    this.#config = config;
    this.#ports = ports;
    this.#checkIntervalMs =
      config.mode === 'periodic'
        ? Math.max(1, Math.round(Math.min(config.retentionMs, LONGEST_PERIODIC_CHECK_MS) / 10))
        : config.checkIntervalMs;
  }

  /** Milliseconds between checks. */
  get checkIntervalMs(): number {
    return this.#checkIntervalMs;
  }

  /** Starts checking; call {@link stop} to end. */
  start(): void {
    if (this.#config.mode === 'periodic') this.#sample();
    this.#handle = this.#ports.setInterval(() => this.check(), this.#checkIntervalMs);
  }

  /** Stops checking. */
  stop(): void {
    if (this.#handle !== undefined) this.#ports.clearInterval(this.#handle);
    this.#handle = undefined;
  }

  /** One check (the timer calls it; tests may too). */
  check(): void {
    const target = this.#target();
    if (target === undefined || this.#inFlight || !this.#ports.isLeader()) return;
    this.#inFlight = true;
    this.#ports.logger.info({ revision: target }, 'auto-compaction: compacting');
    this.#ports
      .compact(target)
      .catch((error: unknown) => {
        // Retried at the next check (e.g. leadership moved while it was in flight).
        this.#ports.logger.warn({ err: error, revision: target }, 'auto-compaction failed');
      })
      .finally(() => {
        this.#inFlight = false;
      });
  }

  /** The revision to compact at now, if any. */
  #target(): number | undefined {
    const { revision, compactRevision } = this.#ports.revisions();
    let target: number | undefined;
    if (this.#config.mode === 'revision') {
      target = revision - this.#config.retentionRevisions;
    } else {
      this.#sample();
      const cutoff = this.#ports.now() - this.#config.retentionMs;
      let newest = -1;
      for (let index = 0; index < this.#samples.length; index++) {
        if ((this.#samples[index] as { at: number }).at <= cutoff) newest = index;
      }
      if (newest >= 0) {
        target = (this.#samples[newest] as { revision: number }).revision;
        // Older samples can never be the newest old-enough one again.
        this.#samples = this.#samples.slice(newest);
      }
    }
    return target !== undefined && target > compactRevision && target <= revision
      ? target
      : undefined;
  }

  #sample(): void {
    this.#samples.push({ at: this.#ports.now(), revision: this.#ports.revisions().revision });
  }
}
