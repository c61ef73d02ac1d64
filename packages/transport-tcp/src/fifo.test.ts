import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fifo } from './fifo.js';

describe('Fifo', () => {
  it('behaves like an array queue under any mix of push, shift and drain (100 cases)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer(), fc.constant('shift'), fc.constant('drain')), {
          maxLength: 300,
        }),
        (operations) => {
          const fifo = new Fifo<number>();
          let model: number[] = [];
          for (const operation of operations) {
            if (operation === 'shift') expect(fifo.shift()).toBe(model.shift());
            else if (operation === 'drain') {
              expect(fifo.drain()).toEqual(model);
              model = [];
            } else {
              fifo.push(operation);
              model.push(operation);
            }
            expect(fifo.length).toBe(model.length);
            expect(fifo.at(0)).toBe(model[0]);
            expect(fifo.at(model.length - 1)).toBe(model[model.length - 1]);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
