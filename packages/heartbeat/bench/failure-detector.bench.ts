// How much a failure detector costs per heartbeat. A leader of a 7-server cluster with 100 ms
// heartbeats handles 60 heartbeat replies a second, so anything above ~1e5/s is noise; this
// checks we are far above that, and that the timer bookkeeping does not dominate.
// Output: one JSON object on stdout.
import { FixedTimeoutFailureDetector, PhiAccrualFailureDetector, phi } from '../src/index.js';
import type { FailureDetector } from '../src/index.js';
import { ManualClock } from '../src/testing/index.js';

const peers = Array.from({ length: 7 }, (_, i) => `peer-${i}`);

function measure(name: string, run: (iterations: number) => void, iterations: number) {
  run(Math.min(iterations, 10_000)); // warm up the JIT
  const start = process.hrtime.bigint();
  run(iterations);
  const elapsedNs = Number(process.hrtime.bigint() - start);
  return {
    name,
    iterations,
    nsPerOperation: elapsedNs / iterations,
    operationsPerSecond: (iterations * 1e9) / elapsedNs,
  };
}

function heartbeats(create: (clock: ManualClock) => FailureDetector) {
  return (iterations: number): void => {
    const clock = new ManualClock();
    const detector = create(clock);
    for (let i = 0; i < iterations; i++) {
      // Jittery arrivals round-robin over the peers; the clock's timers fire as time passes.
      clock.advance(10 + (i % 7));
      detector.heartbeatReceived(peers[i % peers.length]!);
    }
    if (detector.suspectedPeers().length !== 0) throw new Error('steady peers were suspected');
    detector.close();
  };
}

function queries(create: (clock: ManualClock) => FailureDetector) {
  return (iterations: number): void => {
    const clock = new ManualClock();
    const detector = create(clock);
    for (const peer of peers) detector.heartbeatReceived(peer);
    let suspected = 0;
    for (let i = 0; i < iterations; i++)
      if (detector.isSuspected(peers[i % peers.length]!)) suspected++;
    if (suspected !== 0) throw new Error('unexpected suspicion');
  };
}

const fixed = (clock: ManualClock) =>
  new FixedTimeoutFailureDetector({ clock, timers: clock, timeoutMs: 1000 });
const phiAccrual = (clock: ManualClock) =>
  new PhiAccrualFailureDetector({ clock, timers: clock, firstHeartbeatEstimateMs: 70 });

let sink = 0;
const results = [
  measure('fixed-timeout heartbeatReceived (7 peers, with timers)', heartbeats(fixed), 1_000_000),
  measure(
    'phi-accrual heartbeatReceived (7 peers, with timers)',
    heartbeats(phiAccrual),
    1_000_000,
  ),
  measure('fixed-timeout isSuspected', queries(fixed), 2_000_000),
  measure('phi-accrual isSuspected', queries(phiAccrual), 2_000_000),
  measure(
    'phi() function',
    (iterations) => {
      for (let i = 0; i < iterations; i++) sink += phi(i % 500, 100, 25);
    },
    5_000_000,
  ),
];
if (sink < 0) throw new Error('unreachable');

console.log(
  JSON.stringify(
    { benchmark: '@x/heartbeat failure detectors', node: process.version, results },
    null,
    2,
  ),
);
