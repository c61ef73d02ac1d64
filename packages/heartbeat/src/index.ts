// @x/heartbeat: Heartbeats and failure detectors (fixed timeout, phi-accrual) on a monotonic clock.
export {};
