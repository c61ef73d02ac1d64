/**
 * Wall-clock time in milliseconds since the Unix epoch: the physical part of a hybrid logical
 * clock. It may jump backwards (NTP, an operator) and differs between machines; the
 * {@link HybridClock} copes with both.
 *
 * The same shape as `@x/wal`'s `WallClock`, declared here so that `@x/clocks` depends on no other
 * package: one object (`Date`-backed, or the simulator's `SimulatedWallClock`) satisfies both.
 */
export interface WallClock {
  /** Milliseconds since the Unix epoch, as this machine believes. */
  now(): number;
}
