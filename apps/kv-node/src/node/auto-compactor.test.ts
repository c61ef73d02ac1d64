import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logging/logger.js';
import { AutoCompactor } from './auto-compactor.js';
import type { AutoCompactorPorts } from './auto-compactor.js';

/** A virtual clock and store: `advance` moves time and runs the interval callback. */
function harness(leader = true) {
  let now = 0;
  let callback: (() => void) | undefined;
  let intervalMs = 0;
  const state = { revision: 1, compactRevision: 0, leader, compactions: [] as number[] };
  const ports: AutoCompactorPorts = {
    now: () => now,
    setInterval: (run, every) => {
      callback = run;
      intervalMs = every;
      return 1;
    },
    clearInterval: () => {
      callback = undefined;
    },
    isLeader: () => state.leader,
    revisions: () => ({ revision: state.revision, compactRevision: state.compactRevision }),
    compact: (revision) => {
      state.compactions.push(revision);
      state.compactRevision = revision;
      return Promise.resolve();
    },
    logger: silentLogger,
  };
  const advance = async (ms: number, writesPerTick = 0): Promise<void> => {
    for (let elapsed = 0; elapsed < ms; elapsed += intervalMs) {
      now += intervalMs;
      state.revision += writesPerTick;
      callback?.();
      await Promise.resolve();
      await Promise.resolve();
    }
  };
  return { ports, state, advance };
}

describe('AutoCompactor', () => {
  it('periodic: keeps the retention of history, checking every tenth of it', async () => {
    const { ports, state, advance } = harness();
    const compactor = new AutoCompactor({ mode: 'periodic', retentionMs: 1000 }, ports);
    expect(compactor.checkIntervalMs).toBe(100);
    compactor.start();
    await advance(900, 10);
    expect(state.compactions).toEqual([]);
    await advance(100, 10);
    // At t=1000 the sample taken at t=0 (revision 1) is the newest one old enough.
    expect(state.compactions).toEqual([1]);
    await advance(100, 10);
    expect(state.compactions).toEqual([1, 11]);
    await advance(1000, 10);
    // Every compaction leaves at least a retention's worth of revisions readable.
    const last = state.compactions[state.compactions.length - 1] as number;
    expect(state.revision - last).toBeGreaterThanOrEqual(100);
    expect(state.compactions).toEqual([...state.compactions].sort((a, b) => a - b));
    compactor.stop();
  });

  it('revision: compacts at revision minus the retention, only on the leader', async () => {
    const { ports, state, advance } = harness(false);
    const compactor = new AutoCompactor(
      { mode: 'revision', retentionRevisions: 50, checkIntervalMs: 10 },
      ports,
    );
    compactor.start();
    await advance(100, 20);
    expect(state.compactions).toEqual([]);
    state.leader = true;
    await advance(10, 0);
    expect(state.compactions).toEqual([state.revision - 50]);
    await advance(10, 0);
    expect(state.compactions).toHaveLength(1);
    compactor.stop();
  });
});
