// @x/heartbeat: heartbeats and failure detectors (fixed timeout, phi-accrual) on a monotonic clock.
export type { Clock } from './clock.js';
export type { Timers } from './timers.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
export { HeartbeatSender } from './heartbeat-sender.js';
export type { HeartbeatSenderOptions } from './heartbeat-sender.js';
export type { FailureDetector, PeerListener } from './failure-detector.js';
export { FixedTimeoutFailureDetector } from './fixed-timeout-failure-detector.js';
export type { FixedTimeoutFailureDetectorOptions } from './fixed-timeout-failure-detector.js';
export { PhiAccrualFailureDetector } from './phi-accrual-failure-detector.js';
export type { PhiAccrualFailureDetectorOptions } from './phi-accrual-failure-detector.js';
export { phi, phiThresholdInStandardDeviations } from './phi.js';
export { HeartbeatHistory } from './heartbeat-history.js';
export { nodeClock } from './node-clock.js';
export { createNodeTimers, nodeTimers } from './node-timers.js';
export type { NodeTimersOptions } from './node-timers.js';
