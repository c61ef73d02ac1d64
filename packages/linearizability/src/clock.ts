/** Monotonic time in milliseconds (never wall time). The recorder stamps events with it and the checker enforces its time budget with it. */
export interface Clock {
  now(): number;
}
