import { describe, expect, it } from 'vitest';
import { StorageJobQueue } from './storage-job-queue.js';

/** A job the test finishes by hand, recording when it started. */
function manualJob(log: string[], name: string) {
  let finish: (() => void) | undefined;
  let fail: ((error: Error) => void) | undefined;
  const run = () =>
    new Promise<void>((resolve, reject) => {
      log.push(`start ${name}`);
      finish = resolve;
      fail = reject;
    });
  return {
    run,
    finish: () => finish?.(),
    fail: (error: Error) => fail?.(error),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('StorageJobQueue', () => {
  it('pipelines log jobs, runs a serial lane one job at a time, and lanes do not wait for each other', async () => {
    const queue = new StorageJobQueue();
    const log: string[] = [];
    const [a, b, s1, s2, snap] = ['log a', 'log b', 'state 1', 'state 2', 'snapshot'].map((name) =>
      manualJob(log, name),
    );
    void queue.enqueue('log', a!.run);
    void queue.enqueue('state', s1!.run);
    void queue.enqueue('state', s2!.run);
    void queue.enqueue('log', b!.run);
    void queue.enqueue('snapshot', snap!.run);
    expect(log).toEqual(['start log a', 'start state 1', 'start log b', 'start snapshot']);
    s1!.finish();
    await tick();
    expect(log.at(-1)).toBe('start state 2');
  });

  it('starts a barrier after everything before it finished, and holds everything after it', async () => {
    const queue = new StorageJobQueue();
    const log: string[] = [];
    const [before, barrier, after] = ['before', 'barrier', 'after'].map((name) =>
      manualJob(log, name),
    );
    void queue.enqueue('log', before!.run);
    void queue.enqueue('barrier', barrier!.run);
    void queue.enqueue('snapshot', after!.run);
    expect(log).toEqual(['start before']);
    before!.finish();
    await tick();
    expect(log).toEqual(['start before', 'start barrier']);
    barrier!.finish();
    await tick();
    expect(log).toEqual(['start before', 'start barrier', 'start after']);
  });

  it('fails stop: waiting and later jobs reject with the first error, and it still goes idle', async () => {
    const queue = new StorageJobQueue();
    const log: string[] = [];
    const [first, second] = ['first', 'second'].map((name) => manualJob(log, name));
    const failing = queue.enqueue('state', first!.run);
    const waiting = queue.enqueue('state', second!.run);
    first!.fail(new Error('disk gone'));
    await expect(failing).rejects.toThrow('disk gone');
    await expect(waiting).rejects.toThrow('disk gone');
    await expect(queue.enqueue('log', () => Promise.resolve())).rejects.toThrow('disk gone');
    await queue.idle();
    expect(log).toEqual(['start first']);
  });
});
