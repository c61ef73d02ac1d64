import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import { LeaderFollowerNode } from './leader-follower-node.js';

/**
 * Virtual time whose timers always fire `latenessMs` after they were due, as a busy event loop
 * would fire them.
 */
class LateTimers {
  now = 0;
  private pending: { at: number; callback: () => void; handle: number }[] = [];
  private nextHandle = 1;

  constructor(private readonly latenessMs: number) {}

  setTimeout(callback: () => void, delayMs: number): unknown {
    const handle = this.nextHandle++;
    this.pending.push({ at: this.now + delayMs + this.latenessMs, callback, handle });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((timer) => timer.handle !== handle);
  }

  /** Fires the earliest timer (advancing the clock to it), then lets promise work settle. */
  async fireNext(): Promise<void> {
    this.pending.sort((x, y) => x.at - y.at || x.handle - y.handle);
    const next = this.pending.shift();
    if (next === undefined) throw new Error('no timer pending');
    this.now = Math.max(this.now, next.at);
    next.callback();
    for (let turn = 0; turn < 20; turn++) await Promise.resolve();
  }
}

describe('the tick schedule', () => {
  it('keeps ticks on schedule when every timer fires late, so timeouts do not stretch', async () => {
    const timers = new LateTimers(3);
    const node = await LeaderFollowerNode.open({
      id: 'solo',
      members: ['solo'],
      transport: { send: () => undefined, onMessage: () => undefined },
      stateMachine: {
        apply: () => undefined,
        snapshot: () => new Uint8Array(0),
        restore: () => undefined,
      },
      fileSystem: new FaultFileSystem({ random: seededRandom(1) }),
      dataDirectory: '/data',
      clock: { now: () => timers.now },
      timers,
      // The randomized election timeout is then exactly its minimum: 20 ticks of 10 ms.
      random: { next: () => 0 },
      tickMs: 10,
      electionTimeoutTicks: 20,
      // The full first timeout, so that the campaign falls exactly at the twentieth tick.
      advanceFirstElection: false,
    });
    node.start();
    while (node.role !== 'leader' && timers.now < 1000) await timers.fireNext();
    // Twenty ticks, each due 10 ms after the previous one was due: the campaign starts at 203 ms
    // (3 ms late once). Scheduling each tick 10 ms after the last one fired would take 260 ms.
    expect(node.role).toBe('leader');
    expect(timers.now).toBeGreaterThanOrEqual(200);
    expect(timers.now).toBeLessThan(215);
    await node.close();
  });
});
