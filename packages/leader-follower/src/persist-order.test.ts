import { describe, expect, it } from 'vitest';
import { PersistOrder } from './storage-rules.js';

/** A step the test settles by hand. */
function manualStep() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((resolveStep, rejectStep) => {
    resolve = resolveStep;
    reject = rejectStep;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('PersistOrder', () => {
  it('settles calls in call order when later steps finish first', async () => {
    const order = new PersistOrder();
    const settled: string[] = [];
    const first = manualStep();
    const second = manualStep();
    const secondOther = manualStep();
    void order.settleInOrder([first.promise]).then(() => settled.push('first'));
    void order
      .settleInOrder([second.promise, secondOther.promise])
      .then(() => settled.push('second'));
    void order.settleInOrder([]).then(() => settled.push('empty'));
    second.resolve();
    secondOther.resolve();
    await tick();
    expect(settled).toEqual([]);
    first.resolve();
    await tick();
    expect(settled).toEqual(['first', 'second', 'empty']);
  });

  it('rejects the call whose step failed, in its turn, and settles the others around it', async () => {
    const order = new PersistOrder();
    const settled: string[] = [];
    const first = manualStep();
    const failing = manualStep();
    const record = (name: string, promise: Promise<void>) =>
      void promise.then(
        () => settled.push(`${name} ok`),
        (error: Error) => settled.push(`${name} ${error.message}`),
      );
    record('first', order.settleInOrder([first.promise]));
    record('second', order.settleInOrder([failing.promise]));
    record('third', order.settleInOrder([]));
    failing.reject(new Error('disk gone'));
    await tick();
    expect(settled).toEqual([]);
    first.resolve();
    await tick();
    expect(settled).toEqual(['first ok', 'second disk gone', 'third ok']);
  });
});
