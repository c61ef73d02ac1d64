import type { OperationSample } from './operation-sample.js';

/** When a fault was active and whom it hit, as the runner applied it. */
export interface FaultWindow {
  readonly description: string;
  readonly kind: string;
  /** Milliseconds since the workload started. */
  readonly startMs: number;
  readonly endMs: number;
  /** Indexes of the nodes the fault hit (killed, paused, cut off, slowed). */
  readonly affectedNodes: readonly number[];
  /**
   * The fault took away the node that was leading when it started (killed, paused, cut off or
   * restarted), so the cluster had to fail over. Slowed or lossy links do not count.
   */
  readonly leaderLost: boolean;
  /**
   * For a fault with `leaderLost`: milliseconds from its start until a probe write to a node the
   * fault spared succeeded (undefined if none did while it lasted and shortly after).
   */
  readonly failoverMs?: number;
  /**
   * Milliseconds from the end of the fault until the cluster was whole again (every node up,
   * agreeing on a leader in touch with every follower); absent if it was not within 15 s.
   */
  readonly recoveredAfterMs?: number;
  /** A minority without the leader was cut off from the rest (both ways). */
  readonly followerMinorityIsolated?: boolean;
  /** The fault was skipped (e.g. no faketime on this host); it has no measures. */
  readonly skipped?: string;
}

/** Share of operations that succeeded. */
export interface Availability {
  readonly ok: number;
  readonly total: number;
  /** ok / total, or 1 when nothing was attempted. */
  readonly ratio: number;
}

/** Availability during one fault, overall and on the nodes it did not hit. */
export interface FaultMeasure {
  readonly description: string;
  readonly all: Availability;
  /** Operations sent to nodes the fault did not hit (the majority side of a partition). */
  readonly unaffectedNodes: Availability;
}

/** Availability of the operations invoked in [fromMs, toMs) on nodes accepted by `onNode`. */
export function availability(
  samples: readonly OperationSample[],
  fromMs: number,
  toMs: number,
  onNode: (node: number) => boolean = () => true,
): Availability {
  let ok = 0;
  let total = 0;
  for (const sample of samples) {
    if (sample.invokedAtMs < fromMs || sample.invokedAtMs >= toMs || !onNode(sample.node)) continue;
    total++;
    if (sample.outcome === 'ok') ok++;
  }
  return { ok, total, ratio: total === 0 ? 1 : ok / total };
}

/** Availability during each fault that ran. */
export function faultMeasures(
  samples: readonly OperationSample[],
  windows: readonly FaultWindow[],
): FaultMeasure[] {
  return windows
    .filter((window) => window.skipped === undefined)
    .map((window) => ({
      description: window.description,
      all: availability(samples, window.startMs, window.endMs),
      unaffectedNodes: availability(
        samples,
        window.startMs,
        window.endMs,
        (node) => !window.affectedNodes.includes(node),
      ),
    }));
}

/**
 * Availability of the operations sent to the majority side while a minority without the leader
 * was partitioned away, over all such faults.
 */
export function majoritySideAvailability(
  samples: readonly OperationSample[],
  windows: readonly FaultWindow[],
): Availability {
  let ok = 0;
  let total = 0;
  for (const window of windows) {
    if (window.followerMinorityIsolated !== true || window.skipped !== undefined) continue;
    const measured = availability(
      samples,
      window.startMs,
      window.endMs,
      (node) => !window.affectedNodes.includes(node),
    );
    ok += measured.ok;
    total += measured.total;
  }
  return { ok, total, ratio: total === 0 ? 1 : ok / total };
}

/**
 * The failover times measured during the faults that took the leader away, in milliseconds; with
 * `kinds`, only during faults of those kinds (`['kill']`: leader kills, the measure).
 */
export function failoverTimes(
  windows: readonly FaultWindow[],
  kinds?: readonly string[],
): number[] {
  return windows.flatMap((window) =>
    window.leaderLost &&
    window.skipped === undefined &&
    window.failoverMs !== undefined &&
    (kinds === undefined || kinds.includes(window.kind))
      ? [window.failoverMs]
      : [],
  );
}

/**
 * The `p`-th percentile (0-100) by nearest rank, or undefined for no values.
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((left, right) => left - right);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}
