import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestAbandonedError } from './request-abandoned-error.js';
import { RequestWaitingList } from './request-waiting-list.js';

async function settled<T>(promise: Promise<T>): Promise<T | RequestAbandonedError> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof RequestAbandonedError) return error;
    throw error;
  }
}

describe('RequestWaitingList', () => {
  it('counts the waits at one index, as they are added and settled', async () => {
    const controller = new AbortController();
    const waiting = new RequestWaitingList();
    const waits = [waiting.add(2), waiting.add(2, controller.signal), waiting.add(3)];
    expect([waiting.waitingAt(1), waiting.waitingAt(2), waiting.waitingAt(3)]).toEqual([0, 2, 1]);
    controller.abort();
    expect(waiting.waitingAt(2)).toBe(1);
    waiting.advanceTo(2);
    expect(waiting.waitingAt(2)).toBe(0);
    waiting.rejectAll('unknown', 'stopped');
    expect(waiting.waitingAt(3)).toBe(0);
    await Promise.allSettled(waits);
  });

  it('rejects the waits at or below an index, leaving the later ones and the reached index', async () => {
    const waiting = new RequestWaitingList();
    const waits = [waiting.add(1), waiting.add(4), waiting.add(5)];
    expect(waiting.rejectThrough(4, 'unknown', 'covered by a snapshot')).toBe(2);
    expect(waiting.reachedIndex).toBe(0);
    expect(waiting.size).toBe(1);
    const [first, fourth] = await Promise.all([settled(waits[0]!), settled(waits[1]!)]);
    expect(first).toMatchObject({ index: 1, outcome: 'unknown' });
    expect(fourth).toMatchObject({ index: 4, outcome: 'unknown' });
    waiting.advanceTo(5);
    expect(await waits[2]).toBeUndefined();
  });

  it('resolves waits when the mark reaches them, with the result for their index', async () => {
    const waiting = new RequestWaitingList<string>();
    const first = waiting.add(1);
    const third = waiting.add(3);
    expect(waiting.size).toBe(2);
    expect(waiting.advanceTo(2, (index) => `result ${index}`)).toBe(1);
    expect(await first).toBe('result 1');
    expect(waiting.size).toBe(1);
    expect(waiting.advanceTo(5, (index) => `result ${index}`)).toBe(1);
    expect(await third).toBe('result 3');
    expect(waiting.reachedIndex).toBe(5);
  });

  it('resolves without a result when the type admits undefined, in the order of waits', async () => {
    const waiting = new RequestWaitingList();
    const order: string[] = [];
    const waits = [
      waiting.add(4).then(() => order.push('4a')),
      waiting.add(2).then(() => order.push('2')),
      waiting.add(4).then(() => order.push('4b')),
    ];
    expect(waiting.advanceTo(3)).toBe(1);
    expect(waiting.advanceTo(3)).toBe(0);
    expect(waiting.advanceTo(1)).toBe(0);
    expect(waiting.advanceTo(4)).toBe(2);
    await Promise.all(waits);
    expect(order).toEqual(['2', '4a', '4b']);
  });

  it('refuses a wait at or below the reached index', () => {
    const waiting = new RequestWaitingList(3);
    expect(() => waiting.add(3)).toThrow(RangeError);
    expect(() => waiting.add(-1)).toThrow(RangeError);
    expect(() => new RequestWaitingList(Number.NaN)).toThrow(RangeError);
    expect(() => waiting.advanceTo(1.5)).toThrow(RangeError);
  });

  it('rejects every wait in bulk with an unknown outcome when leadership is lost', async () => {
    const waiting = new RequestWaitingList();
    const waits = [waiting.add(1), waiting.add(2)];
    expect(waiting.rejectAll('unknown', 'leadership lost')).toBe(2);
    expect(waiting.size).toBe(0);
    for (const [position, wait] of waits.entries()) {
      const error = await settled(wait);
      expect(error).toBeInstanceOf(RequestAbandonedError);
      expect(error).toMatchObject({
        outcome: 'unknown',
        reason: 'leadership lost',
        index: position + 1,
        name: 'RequestAbandonedError',
      });
    }
  });

  it('rejects only the overwritten suffix as definitely not applied', async () => {
    const waiting = new RequestWaitingList();
    const kept = [waiting.add(1), waiting.add(2)];
    const lost = [waiting.add(5), waiting.add(3), waiting.add(4)];
    expect(waiting.rejectFrom(3, 'not-applied', 'overwritten by generation 7')).toBe(3);
    for (const wait of lost) {
      expect(await settled(wait)).toMatchObject({ outcome: 'not-applied' });
    }
    expect(waiting.advanceTo(2)).toBe(2);
    await Promise.all(kept);
    expect(waiting.size).toBe(0);
  });

  it('rejects an aborted wait as unknown and forgets it', async () => {
    const waiting = new RequestWaitingList();
    const timeout = new AbortController();
    const wait = waiting.add(2, timeout.signal);
    const other = waiting.add(2);
    timeout.abort(new Error('client timeout'));
    const error = await settled(wait);
    expect(error).toMatchObject({ outcome: 'unknown', reason: 'wait aborted' });
    expect((error as Error).cause).toEqual(new Error('client timeout'));
    expect(waiting.size).toBe(1);
    expect(waiting.advanceTo(2)).toBe(1);
    await other;
    expect(waiting.rejectAll('unknown', 'nothing left')).toBe(0);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const waiting = new RequestWaitingList();
    const wait = waiting.add(1, AbortSignal.abort());
    expect(waiting.size).toBe(0);
    expect(await settled(wait)).toMatchObject({ outcome: 'unknown' });
  });

  it('stops listening to the signal once resolved', async () => {
    const waiting = new RequestWaitingList<number>();
    const timeout = new AbortController();
    const wait = waiting.add(1, timeout.signal);
    waiting.advanceTo(1, (index) => index * 10);
    timeout.abort();
    expect(await wait).toBe(10);
    expect(waiting.size).toBe(0);
  });

  it('resolves exactly the waits at or below each mark, in index order (model check)', async () => {
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), offset: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant('advance' as const), offset: fc.integer({ min: 0, max: 6 }) }),
      fc.record({
        kind: fc.constant('rejectFrom' as const),
        offset: fc.integer({ min: 0, max: 8 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { maxLength: 40 }), async (operations) => {
        const waiting = new RequestWaitingList<number>();
        const events: string[] = [];
        const expected: string[] = [];
        let model: number[] = [];
        const promises: Promise<unknown>[] = [];
        for (const { kind, offset } of operations) {
          const reached = waiting.reachedIndex;
          if (kind === 'add') {
            const index = reached + offset;
            model.push(index);
            promises.push(
              waiting.add(index).then(
                (value) => events.push(`resolved ${value}`),
                () => events.push(`rejected ${index}`),
              ),
            );
          } else if (kind === 'advance') {
            const mark = reached + offset;
            const due = model.filter((index) => index <= mark).sort((a, b) => a - b);
            model = model.filter((index) => index > mark);
            expected.push(...due.map((index) => `resolved ${index}`));
            expect(waiting.advanceTo(mark, (index) => index)).toBe(offset === 0 ? 0 : due.length);
          } else {
            const from = reached + offset;
            const due = model.filter((index) => index >= from).sort((a, b) => a - b);
            model = model.filter((index) => index < from);
            expected.push(...due.map((index) => `rejected ${index}`));
            expect(waiting.rejectFrom(from, 'unknown', 'test')).toBe(due.length);
          }
          expect(waiting.size).toBe(model.length);
        }
        waiting.rejectAll('unknown', 'end');
        expected.push(...model.sort((a, b) => a - b).map((index) => `rejected ${index}`));
        await Promise.all(promises);
        expect(events).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe('RequestWaitingList with many aborted waits', () => {
  it('drops aborted waits while the mark stalls, and still resolves the live ones', async () => {
    const waiting = new RequestWaitingList();
    const live = waiting.add(1_000);
    const abandoned = Array.from({ length: 500 }, (_, i) => {
      const controller = new AbortController();
      const wait = waiting.add(i + 1, controller.signal).catch((error: unknown) => error);
      controller.abort();
      return wait;
    });
    expect(waiting.size).toBe(1);
    for (const wait of await Promise.all(abandoned)) {
      expect(wait).toMatchObject({ outcome: 'unknown' });
    }
    expect(waiting.advanceTo(1_000)).toBe(1);
    await live;
  });
});
