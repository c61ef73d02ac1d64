import type { WallClock } from './wall-clock.js';

/** The real {@link WallClock}: `Date.now()`, milliseconds since the Unix epoch. */
export const nodeWallClock: WallClock = { now: () => Date.now() };
