import { FixedTimeoutFailureDetector } from '@x/heartbeat';
import { ScriptedRecording } from './scripted-recording.js';

const HEARTBEAT_EVERY_MS = 100;
const NETWORK_DELAY_MS = 20;
const TIMEOUT_MS = 1000;
const JUMP_AT_MS = 350;
const JUMP_MS = 60 * 60 * 1000;
const CRASH_AT_MS = 450;
const END_MS = 1700;

/**
 * The monotonic time guide's story: cyrene watches athens' heartbeats with two real
 * {@link FixedTimeoutFailureDetector}s, one on a monotonic clock and one on the wall clock; NTP
 * steps cyrene's wall clock an hour forward, then athens really crashes. Each detector's verdict
 * is checked every 10 virtual milliseconds and drawn when it changes.
 */
export function monotonicTimePicture(): string {
  let nowMs = 0;
  let wallOffsetMs = 0;
  const monotonic = new FixedTimeoutFailureDetector({
    clock: { now: () => nowMs },
    timeoutMs: TIMEOUT_MS,
  });
  const wallClock = new FixedTimeoutFailureDetector({
    clock: { now: () => Date.UTC(2025, 2, 30, 2, 0) + nowMs + wallOffsetMs },
    timeoutMs: TIMEOUT_MS,
  });
  const picture = new ScriptedRecording(['athens', 'cyrene']);
  picture.note(0, 'cyrene', `cyrene suspects after ${TIMEOUT_MS} ms of silence`, 'client');

  const arrivals = new Set<number>();
  for (let sentAtMs = 0; sentAtMs < CRASH_AT_MS; sentAtMs += HEARTBEAT_EVERY_MS) {
    picture.message(
      'athens',
      'cyrene',
      sentAtMs,
      sentAtMs + NETWORK_DELAY_MS,
      'heartbeat',
      'heartbeat',
    );
    arrivals.add(sentAtMs + NETWORK_DELAY_MS);
  }
  picture.note(JUMP_AT_MS, 'cyrene', "NTP steps cyrene's wall clock 1 h forward", 'fault');
  picture.note(CRASH_AT_MS, 'athens', 'athens crashes', 'fault');

  const verdicts = new Map([
    ['monotonic clock', false],
    ['wall clock', false],
  ]);
  for (nowMs = 0; nowMs <= END_MS; nowMs += 10) {
    if (nowMs === JUMP_AT_MS) wallOffsetMs = JUMP_MS;
    if (arrivals.has(nowMs)) {
      monotonic.heartbeatReceived('athens');
      wallClock.heartbeatReceived('athens');
    }
    for (const [name, detector] of [
      ['monotonic clock', monotonic],
      ['wall clock', wallClock],
    ] as const) {
      const suspected = detector.isSuspected('athens');
      if (suspected === verdicts.get(name)) continue;
      verdicts.set(name, suspected);
      const silence = Math.round(detector.silenceMs('athens') ?? 0);
      const silenceText = silence >= 60_000 ? `${Math.round(silence / 1000)} s` : `${silence} ms`;
      picture.note(
        nowMs,
        'cyrene',
        `${name}: ${suspected ? 'suspects' : 'trusts'} athens (${silenceText})`,
        suspected
          ? name === 'wall clock' && nowMs < CRASH_AT_MS
            ? 'stale'
            : 'election'
          : 'leader',
      );
    }
  }
  monotonic.close();
  wallClock.close();

  return picture.render(
    'Monotonic time: a failure detector that a wall clock jump cannot fool',
    `athens sends cyrene a heartbeat every ${HEARTBEAT_EVERY_MS} ms. At ${JUMP_AT_MS} ms NTP steps cyrene's wall clock an hour forward: the detector that measures silence on the wall clock suspects a healthy athens at once, the one on the monotonic clock does not. athens really crashes at ${CRASH_AT_MS} ms, and the monotonic detector suspects it ${TIMEOUT_MS} ms after its last heartbeat. Verdicts computed by @x/heartbeat's FixedTimeoutFailureDetector.`,
  );
}
