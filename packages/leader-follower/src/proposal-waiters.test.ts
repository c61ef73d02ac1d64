import { describe, expect, it } from 'vitest';
import { IndeterminateOutcomeError, ProposalDroppedError } from './errors.js';
import type { LogEntry } from './log-entry.js';
import { ProposalWaiters } from './proposal-waiters.js';
import { ManualTime } from './test-support/manual-time.js';

const entry = (index: number, generation: number): LogEntry => ({
  index,
  generation,
  kind: 'command',
  command: new Uint8Array([index]),
});

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => value,
    (error: unknown) => error,
  );
}

describe('ProposalWaiters', () => {
  it('answers a proposal with its result, or definitely dropped when another leader took its slot', async () => {
    const time = new ManualTime();
    const waiters = new ProposalWaiters(time, time, 1000, () => undefined);
    const mine = waiters.add(5, 2);
    const taken = waiters.add(6, 2);
    expect(waiters.awaits(entry(5, 2))).toBe(true);
    expect(waiters.awaits(entry(5, 1))).toBe(false);
    waiters.applied(entry(5, 2), 'result 5');
    waiters.applied(entry(6, 3), 'theirs');
    expect(await mine).toBe('result 5');
    expect(await outcome(taken)).toBeInstanceOf(ProposalDroppedError);
    expect(waiters.size).toBe(0);
  });

  it('times proposals out with one timer, in the order they came, as indeterminate', async () => {
    const time = new ManualTime();
    const timedOut: number[] = [];
    const waiters = new ProposalWaiters(time, time, 1000, (index) => timedOut.push(index));
    const first = waiters.add(1, 1);
    time.advance(400);
    const second = waiters.add(2, 1);
    time.advance(400);
    const third = waiters.add(3, 1);
    time.advance(200); // the first is due
    expect(await outcome(first)).toBeInstanceOf(IndeterminateOutcomeError);
    waiters.applied(entry(2, 1), 'two');
    expect(await second).toBe('two');
    expect(waiters.size).toBe(1);
    time.advance(800); // the third is due (the second, applied, is skipped)
    expect(await outcome(third)).toBeInstanceOf(IndeterminateOutcomeError);
    expect(timedOut).toEqual([1, 3]);
  });

  it('makes earlier generations’ proposals from a reused index indeterminate, and all of them on stop', async () => {
    const time = new ManualTime();
    const waiters = new ProposalWaiters(time, time, 1000, () => undefined);
    const old = waiters.add(7, 1);
    const replacing = waiters.add(7, 2);
    expect(await outcome(old)).toBeInstanceOf(IndeterminateOutcomeError);
    waiters.coveredBySnapshot(7);
    expect(await outcome(replacing)).toBeInstanceOf(IndeterminateOutcomeError);
    const pending = waiters.add(8, 2);
    waiters.rejectAll('node stopped');
    expect(await outcome(pending)).toBeInstanceOf(IndeterminateOutcomeError);
  });
});
