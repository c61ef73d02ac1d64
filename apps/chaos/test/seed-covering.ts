import type { FaultKind } from '../src/nemesis-schedule.js';
import { generateSchedule } from '../src/nemesis-schedule.js';

/**
 * The first seed from `start` whose 3-node schedule of `durationMs` begins with one fault of
 * every kind in `kinds`, so a short run covers them all even when recoveries (about 5 s after a
 * whole-cluster kill) push the later faults out of the run.
 * @throws Error if none of 10,000 seeds does.
 */
export function seedCovering(
  kinds: readonly FaultKind[],
  durationMs: number,
  start: number,
): number {
  for (let seed = start; seed < start + 10_000; seed++) {
    // Each kind asked for here is drawn as a fault of the same name.
    const drawn = new Set<string>(
      generateSchedule({ seed, nodeCount: 3, durationMs, kinds })
        .steps.slice(0, kinds.length)
        .map((step) => step.fault.kind),
    );
    if (kinds.every((kind) => drawn.has(kind))) return seed;
  }
  throw new Error(`no seed from ${start} covers ${kinds.join(', ')}`);
}
