import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue, type ScheduledEvent } from './event-queue.js';

function event(time: number, sequence: number): ScheduledEvent {
  return { time, sequence, label: 'e', cancelled: false, callback: () => undefined };
}

describe('EventQueue', () => {
  it('pops live events in (time, sequence) order, skipping cancelled ones', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ time: fc.integer({ min: 0, max: 20 }), cancel: fc.boolean() }), {
          maxLength: 200,
        }),
        (specs) => {
          const queue = new EventQueue();
          const events = specs.map((spec, sequence) => event(spec.time, sequence));
          for (const item of events) queue.push(item);
          specs.forEach((spec, index) => {
            if (spec.cancel) queue.cancel(events[index]!);
          });
          const expected = events
            .filter((_, index) => !specs[index]!.cancel)
            .sort((a, b) => a.time - b.time || a.sequence - b.sequence);
          expect(queue.size).toBe(expected.length);
          const popped: ScheduledEvent[] = [];
          for (let next = queue.pop(); next !== undefined; next = queue.pop()) popped.push(next);
          expect(popped).toEqual(expected);
          expect(queue.size).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('ignores cancelling an event that already ran', () => {
    const queue = new EventQueue();
    const first = event(1, 0);
    queue.push(first);
    queue.push(event(2, 1));
    expect(queue.pop()).toBe(first);
    queue.cancel(first);
    expect(queue.size).toBe(1);
    expect(queue.peek()?.time).toBe(2);
  });
});
