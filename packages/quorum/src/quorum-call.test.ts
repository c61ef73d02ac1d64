import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualTimers, flushMicrotasks } from '../test/manual-timers.js';
import { quorumCall } from './quorum-call.js';
import { QuorumConfigurationError } from './quorum-configuration-error.js';
import { QuorumFailedError } from './quorum-failed-error.js';

const nodes = ['athens', 'byzantium', 'cyrene', 'delphi', 'ephesus'];

/** Node calls answered by hand: `answer(node, value)` or `fail(node, error)`. */
function manualCalls<R>() {
  const waiting = new Map<
    string,
    { resolve: (value: R) => void; reject: (error: Error) => void; signal: AbortSignal }
  >();
  return {
    call: (node: string, signal: AbortSignal) =>
      new Promise<R>((resolve, reject) => waiting.set(node, { resolve, reject, signal })),
    answer: async (node: string, value: R) => {
      waiting.get(node)!.resolve(value);
      await flushMicrotasks();
    },
    fail: async (node: string, error = new Error(`${node} failed`)) => {
      waiting.get(node)!.reject(error);
      await flushMicrotasks();
    },
    signalOf: (node: string) => waiting.get(node)!.signal,
  };
}

function track<T>(promise: Promise<T>) {
  const state: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { value, settled: true }),
    (error: unknown) => Object.assign(state, { error, settled: true }),
  );
  return state;
}

describe('quorumCall', () => {
  it('resolves at the quorum without waiting for the others, and reports who answered', async () => {
    const timers = new ManualTimers();
    const calls = manualCalls<string>();
    const outcome = track(quorumCall({ nodes, call: calls.call, timeoutMs: 100, timers }));
    await calls.answer('cyrene', 'yes from cyrene');
    await calls.fail('delphi');
    await calls.answer('athens', 'yes from athens');
    expect(outcome.settled).toBe(false);
    await calls.answer('ephesus', 'yes from ephesus');
    expect(outcome.value).toEqual({
      required: 3,
      accepted: [
        { node: 'cyrene', response: 'yes from cyrene' },
        { node: 'athens', response: 'yes from athens' },
        { node: 'ephesus', response: 'yes from ephesus' },
      ],
      rejected: [],
      failed: [{ node: 'delphi', error: new Error('delphi failed') }],
      pending: ['byzantium'],
    });
    expect(timers.pending).toBe(0);
    // The pending call learns its answer is no longer needed; its late answer is ignored.
    expect(calls.signalOf('byzantium').aborted).toBe(true);
    await calls.answer('byzantium', 'late');
  });

  it('rejects as soon as the quorum is impossible, before the others answer', async () => {
    const timers = new ManualTimers();
    const calls = manualCalls<{ granted: boolean }>();
    const outcome = track(
      quorumCall({
        nodes,
        call: calls.call,
        accept: (vote) => vote.granted,
        timeoutMs: 100,
        timers,
        operation: 'vote',
      }),
    );
    await calls.answer('athens', { granted: true });
    await calls.answer('byzantium', { granted: false });
    await calls.fail('cyrene');
    expect(outcome.settled).toBe(false);
    await calls.answer('delphi', { granted: false });
    expect(outcome.error).toBeInstanceOf(QuorumFailedError);
    const error = outcome.error as QuorumFailedError<{ granted: boolean }>;
    expect(error.reason).toBe('impossible');
    expect(error.operation).toBe('vote');
    expect(error.message).toBe(
      'vote quorum impossible: 1 of 3 required accepted, 2 rejected, 1 failed, 1 pending',
    );
    expect(error.report.pending).toEqual(['ephesus']);
    expect(error.report.rejected.map(({ node }) => node)).toEqual(['byzantium', 'delphi']);
  });

  it('times out on the Timers port with what it has so far', async () => {
    const timers = new ManualTimers();
    const calls = manualCalls<number>();
    const outcome = track(
      quorumCall({ nodes: nodes.slice(0, 3), call: calls.call, timeoutMs: 50, timers }),
    );
    await calls.answer('byzantium', 1);
    await timers.advance(49);
    expect(outcome.settled).toBe(false);
    await timers.advance(1);
    const error = outcome.error as QuorumFailedError<number>;
    expect(error.reason).toBe('timeout');
    expect(error.message).toMatch(/quorum call quorum timed out: 1 of 2 required accepted/);
    expect(error.report.accepted).toEqual([{ node: 'byzantium', response: 1 }]);
    expect(error.report.pending).toEqual(['athens', 'cyrene']);
    await calls.answer('athens', 2);
    expect(outcome.error).toBe(error);
  });

  it('counts a call that throws at once, or an answer the predicate cannot judge, as failed', async () => {
    const timers = new ManualTimers();
    const outcome = track(
      quorumCall<number>({
        nodes: ['a', 'b', 'c'],
        call: (node) => {
          if (node === 'a') throw new Error('cannot send');
          return Promise.resolve(node === 'b' ? 1 : 2);
        },
        accept: (response) => {
          if (response === 2) throw new Error('malformed');
          return true;
        },
        timeoutMs: Number.POSITIVE_INFINITY,
        timers,
      }),
    );
    await flushMicrotasks();
    expect(timers.pending).toBe(0);
    const error = outcome.error as QuorumFailedError<number>;
    expect(error.reason).toBe('impossible');
    expect(error.report.failed).toEqual([
      { node: 'a', error: new Error('cannot send') },
      { node: 'c', error: new Error('malformed') },
    ]);
  });

  it('can require every node, or a single one', async () => {
    const timers = new ManualTimers();
    const all = await quorumCall({
      nodes: ['a', 'b'],
      quorum: 2,
      call: (node) => Promise.resolve(node),
      timeoutMs: 10,
      timers,
    });
    expect(all.accepted).toHaveLength(2);
    const one = await quorumCall({
      nodes: ['a', 'b'],
      quorum: 1,
      call: (node) => Promise.resolve(node),
      timeoutMs: 10,
      timers,
    });
    expect(one.accepted).toEqual([{ node: 'a', response: 'a' }]);
    expect(one.pending).toEqual(['b']);
  });

  it('fails at once when aborted, before or during the call', async () => {
    const timers = new ManualTimers();
    const calls = manualCalls<number>();
    let called = 0;
    const before = quorumCall({
      nodes,
      call: () => {
        called++;
        return Promise.resolve(1);
      },
      timeoutMs: 10,
      timers,
      signal: AbortSignal.abort(new Error('shutting down')),
    });
    await expect(before).rejects.toMatchObject({
      reason: 'aborted',
      cause: new Error('shutting down'),
    });
    expect(called).toBe(0);

    const controller = new AbortController();
    const during = track(
      quorumCall({ nodes, call: calls.call, timeoutMs: 10, timers, signal: controller.signal }),
    );
    await calls.answer('athens', 1);
    controller.abort(new Error('client gave up'));
    await flushMicrotasks();
    const error = during.error as QuorumFailedError<number>;
    expect(error.reason).toBe('aborted');
    expect(error.message).toMatch(/aborted/);
    expect(error.report.accepted).toHaveLength(1);
    expect(calls.signalOf('byzantium').aborted).toBe(true);
    expect(timers.pending).toBe(0);
  });

  it('stops listening to the caller signal once settled', async () => {
    const timers = new ManualTimers();
    const controller = new AbortController();
    const report = await quorumCall({
      nodes: ['a'],
      call: () => Promise.resolve(1),
      timeoutMs: 10,
      timers,
      signal: controller.signal,
    });
    controller.abort();
    expect(report.accepted).toHaveLength(1);
  });

  it('rejects a bad configuration', async () => {
    const timers = new ManualTimers();
    const call = () => Promise.resolve(1);
    await expect(quorumCall({ nodes: [], call, timeoutMs: 1, timers })).rejects.toBeInstanceOf(
      QuorumConfigurationError,
    );
    await expect(
      quorumCall({ nodes: ['a', 'b'], quorum: 3, call, timeoutMs: 1, timers }),
    ).rejects.toMatchObject({ problem: 'invalid-quorum-size' });
    await expect(
      quorumCall({ nodes: ['a', 'b'], quorum: 0, call, timeoutMs: 1, timers }),
    ).rejects.toMatchObject({ problem: 'invalid-quorum-size' });
    await expect(quorumCall({ nodes: ['a', 'a'], call, timeoutMs: 1, timers })).rejects.toThrow(
      /distinct/,
    );
    await expect(quorumCall({ nodes: ['a'], call, timeoutMs: 0, timers })).rejects.toThrow(
      /timeoutMs must be positive/,
    );
    await expect(quorumCall({ nodes: ['a'], call, timeoutMs: Number.NaN, timers })).rejects.toThrow(
      RangeError,
    );
  });
});

describe('quorumCall settles at the first moment the outcome is known', () => {
  it('for random cluster sizes, quorums, answers and arrival orders', async () => {
    const answer = fc.constantFrom('accept' as const, 'reject' as const, 'fail' as const);
    const scenario = fc.integer({ min: 1, max: 7 }).chain((size) =>
      fc.record({
        quorum: fc.integer({ min: 1, max: size }),
        answers: fc.array(answer, { minLength: size, maxLength: size }),
        order: fc.shuffledSubarray([...Array(size).keys()], { minLength: size }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(scenario, async ({ quorum, answers, order }) => {
        const timers = new ManualTimers();
        const calls = manualCalls<boolean>();
        const names = answers.map((_, i) => `node-${i}`);
        const outcome = track(
          quorumCall({
            nodes: names,
            quorum,
            call: calls.call,
            accept: (granted) => granted,
            timeoutMs: 10,
            timers,
          }),
        );
        let accepted = 0;
        let answered = 0;
        for (const position of order) {
          const kind = answers[position]!;
          if (kind === 'fail') await calls.fail(names[position]!);
          else await calls.answer(names[position]!, kind === 'accept');
          if (outcome.settled) break;
          answered++;
          if (kind === 'accept') accepted++;
          expect(accepted).toBeLessThan(quorum);
          expect(accepted + (names.length - answered)).toBeGreaterThanOrEqual(quorum);
        }
        // Settled by the answer that decided it, never by the timer.
        expect(outcome.settled).toBe(true);
        if (outcome.error === undefined) {
          expect(outcome.value?.accepted).toHaveLength(quorum);
        } else {
          expect(outcome.error).toMatchObject({ reason: 'impossible' });
        }
      }),
      { numRuns: 300 },
    );
  });
});
