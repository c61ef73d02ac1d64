import { describe, expect, it } from 'vitest';
import { replicaTicks } from './replica-ticks.js';

describe('replicaTicks', () => {
  it('splits the default 100 ms heartbeat into ten ticks and the 1 s timeout into a hundred', () => {
    expect(replicaTicks(100, 1000)).toEqual({
      tickMs: 10,
      heartbeatIntervalTicks: 10,
      electionTimeoutTicks: 100,
    });
  });

  it('keeps the same durations in milliseconds for other settings', () => {
    for (const [heartbeat, election] of [
      [50, 500],
      [250, 2500],
      [1000, 10_000],
    ] as const) {
      const ticks = replicaTicks(heartbeat, election);
      expect(ticks.tickMs * ticks.heartbeatIntervalTicks).toBe(heartbeat);
      expect(ticks.tickMs * ticks.electionTimeoutTicks).toBe(election);
    }
  });

  it('never ticks faster than once a millisecond and keeps the timeout above two heartbeats', () => {
    expect(replicaTicks(5, 5)).toEqual({
      tickMs: 1,
      heartbeatIntervalTicks: 5,
      electionTimeoutTicks: 10,
    });
  });
});
