/** Percentiles of latencies in milliseconds (nearest rank). */
export function summarize(latenciesMs: number[]): Record<string, number> {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const at = (p: number): number =>
    Number(
      (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0).toFixed(3),
    );
  return { p50: at(50), p90: at(90), p99: at(99), max: at(100) };
}
