/**
 * Monotonic time in milliseconds (never wall time).
 *
 * Failure detection measures how long a peer has been silent. A wall clock can jump (NTP
 * correction, an operator, a VM resume) by minutes or hours, which would make a healthy peer look
 * dead or hide a dead one; a monotonic clock only moves forward at the rate of real time.
 */
export interface Clock {
  /** Milliseconds since an arbitrary fixed origin; never decreases. */
  now(): number;
}
