// @x/heartbeat/testing: test doubles for code that uses @x/heartbeat.
export { ManualClock } from './manual-clock.js';
