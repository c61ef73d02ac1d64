import { describe, expect, it } from 'vitest';
import { compareGenerations } from './compare-generations.js';
import { GenerationClockFailedError } from './errors.js';
import { GenerationClock } from './generation-clock.js';
import type { GenerationState } from './generation-state.js';
import type { GenerationStore } from './generation-store.js';
import { InMemoryGenerationStore } from './in-memory-generation-store.js';

/** A store whose saves can be held back or made to fail, to observe ordering and fail-stop. */
class ControllableStore implements GenerationStore {
  readonly saved: GenerationState[] = [];
  failNextSave: Error | undefined;

  load(): Promise<GenerationState | undefined> {
    return Promise.resolve(this.saved.at(-1));
  }

  async save(state: GenerationState): Promise<void> {
    await Promise.resolve();
    if (this.failNextSave !== undefined) {
      const error = this.failNextSave;
      this.failNextSave = undefined;
      throw error;
    }
    this.saved.push(state);
  }
}

describe('GenerationClock', () => {
  it('starts at generation 0 with no vote when nothing was saved', async () => {
    const clock = await GenerationClock.open(new InMemoryGenerationStore());
    expect(clock.current).toBe(0);
    expect(clock.votedFor).toBeUndefined();
    expect(clock.failed).toBe(false);
  });

  it('resumes from the saved state', async () => {
    const store = new InMemoryGenerationStore({ generation: 41, votedFor: 'athens' });
    const clock = await GenerationClock.open(store);
    expect(clock.current).toBe(41);
    expect(clock.votedFor).toBe('athens');
  });

  it('next() returns a new, higher generation only after it is saved, and clears the vote', async () => {
    const store = new ControllableStore();
    const clock = await GenerationClock.open(store);
    await clock.vote('athens', 0);
    const pending = clock.next();
    expect(clock.current).toBe(0); // not durable yet
    expect(await pending).toBe(1);
    expect(clock.current).toBe(1);
    expect(clock.votedFor).toBeUndefined();
    expect(store.saved.at(-1)).toEqual({ generation: 1 });
  });

  it('next() can record a vote for ourselves in the same write', async () => {
    const store = new ControllableStore();
    const clock = await GenerationClock.open(store);
    expect(await clock.next({ votedFor: 'athens' })).toBe(1);
    expect(store.saved).toEqual([{ generation: 1, votedFor: 'athens' }]);
    expect(clock.votedFor).toBe('athens');
  });

  it('gives concurrent next() calls distinct, increasing generations, saved in order', async () => {
    const store = new ControllableStore();
    const clock = await GenerationClock.open(store);
    const results = await Promise.all([
      clock.next(),
      clock.observe(10),
      clock.next(),
      clock.next(),
    ]);
    expect(results).toEqual([1, true, 11, 12]);
    expect(store.saved.map((state) => state.generation)).toEqual([1, 10, 11, 12]);
  });

  it('observe() adopts only a higher generation, durably, clearing the vote', async () => {
    const store = new ControllableStore();
    const clock = await GenerationClock.open(store);
    await clock.next({ votedFor: 'athens' });
    expect(await clock.observe(1)).toBe(false);
    expect(await clock.observe(0)).toBe(false);
    expect(store.saved).toHaveLength(1);
    expect(await clock.observe(5)).toBe(true);
    expect(clock.current).toBe(5);
    expect(clock.votedFor).toBeUndefined();
    expect(store.saved.at(-1)).toEqual({ generation: 5 });
  });

  it('vote() grants one vote per generation, adopting a higher generation in the same write', async () => {
    const store = new ControllableStore();
    const clock = await GenerationClock.open(store);
    expect(await clock.vote('byzantium', 3)).toBe(true);
    expect(store.saved).toEqual([{ generation: 3, votedFor: 'byzantium' }]);
    expect(await clock.vote('byzantium', 3)).toBe(true); // a repeated request: same answer
    expect(await clock.vote('cyrene', 3)).toBe(false); // never two votes in one generation
    expect(await clock.vote('cyrene', 2)).toBe(false); // an older generation
    expect(store.saved).toHaveLength(1);
    expect(await clock.vote('cyrene', 4)).toBe(true);
    expect(clock.current).toBe(4);
    expect(clock.votedFor).toBe('cyrene');
    await clock.observe(5);
    expect(await clock.vote('athens', 5)).toBe(true);
    expect(store.saved.at(-1)).toEqual({ generation: 5, votedFor: 'athens' });
  });

  it('persist() records a state decided elsewhere, keeping the guarantees', async () => {
    const store = new ControllableStore();
    const clock = await GenerationClock.open(store);
    await clock.persist({ generation: 0 }); // the current state: no write
    await clock.persist({ generation: 2 });
    await clock.persist({ generation: 2, votedFor: 'cyrene' });
    await clock.persist({ generation: 2, votedFor: 'cyrene' }); // unchanged: no write
    await clock.persist({ generation: 3, votedFor: 'athens' });
    expect(store.saved).toEqual([
      { generation: 2 },
      { generation: 2, votedFor: 'cyrene' },
      { generation: 3, votedFor: 'athens' },
    ]);
    expect(clock.current).toBe(3);
    expect(clock.votedFor).toBe('athens');
    // A state that copies the vote field only if defined: no "votedFor: undefined" is stored.
    await clock.persist({ generation: 4, ...({ votedFor: undefined } as object) });
    expect(store.saved.at(-1)).toEqual({ generation: 4 });
    expect(Object.keys(store.saved.at(-1)!)).toEqual(['generation']);
  });

  it('persist() refuses to go back, or to change or forget a vote, and writes nothing', async () => {
    const store = new ControllableStore();
    const clock = await GenerationClock.open(store);
    await clock.persist({ generation: 5, votedFor: 'athens' });
    await expect(clock.persist({ generation: 4 })).rejects.toThrow(/back from 5 to 4/);
    await expect(clock.persist({ generation: 5, votedFor: 'cyrene' })).rejects.toThrow(
      /already voted for 'athens' in generation 5; cannot change the vote to 'cyrene'/,
    );
    await expect(clock.persist({ generation: 5 })).rejects.toThrow(/to none/);
    await expect(clock.persist({ generation: -1 })).rejects.toThrow(RangeError);
    expect(store.saved).toHaveLength(1);
    expect(clock.failed).toBe(false);
  });

  it('compares generations and tells stale ones', async () => {
    const clock = await GenerationClock.open(new InMemoryGenerationStore({ generation: 7 }));
    expect(clock.compare(6)).toBe(-1);
    expect(clock.compare(7)).toBe(0);
    expect(clock.compare(8)).toBe(1);
    expect(clock.isStale(6)).toBe(true);
    expect(clock.isStale(7)).toBe(false);
    expect(clock.isStale(8)).toBe(false);
    expect([3, 1, 2].sort(compareGenerations)).toEqual([1, 2, 3]);
  });

  it('fails stop after a save error: that call gets the error, every later change a GenerationClockFailedError', async () => {
    const store = new ControllableStore();
    const clock = await GenerationClock.open(store);
    await clock.next();
    const ioError = Object.assign(new Error('EIO: fsync'), { code: 'EIO' });
    store.failNextSave = ioError;
    const failing = clock.next();
    const queued = clock.observe(9);
    await expect(failing).rejects.toBe(ioError);
    await expect(queued).rejects.toBeInstanceOf(GenerationClockFailedError);
    await expect(clock.vote('athens', 10)).rejects.toMatchObject({ cause: ioError });
    expect(clock.failed).toBe(true);
    expect(clock.current).toBe(1); // the unsaved generation was never adopted
    expect(store.saved).toEqual([{ generation: 1 }]);
  });

  it('rejects generations that are not non-negative safe integers', async () => {
    const clock = await GenerationClock.open(new InMemoryGenerationStore());
    for (const generation of [-1, 1.5, Number.NaN, Infinity, Number.MAX_SAFE_INTEGER + 1]) {
      await expect(clock.observe(generation)).rejects.toThrow(RangeError);
      await expect(clock.vote('athens', generation)).rejects.toThrow(RangeError);
    }
    expect(clock.failed).toBe(false);
    expect(await clock.next()).toBe(1); // a rejected argument does not break the queue
  });

  it('refuses to go past the largest safe integer', async () => {
    const store = new InMemoryGenerationStore({ generation: Number.MAX_SAFE_INTEGER });
    const clock = await GenerationClock.open(store);
    await expect(clock.next()).rejects.toThrow(RangeError);
    expect(store.saves).toBe(0);
  });

  it('refuses a store that returns an invalid generation', async () => {
    const store: GenerationStore = {
      load: () => Promise.resolve({ generation: -3 }),
      save: () => Promise.resolve(),
    };
    await expect(GenerationClock.open(store)).rejects.toThrow(RangeError);
  });
});

describe('InMemoryGenerationStore', () => {
  it('keeps copies, so callers cannot change what was saved', async () => {
    const initial = { generation: 2, votedFor: 'athens' };
    const store = new InMemoryGenerationStore(initial);
    initial.generation = 99;
    const loaded = await store.load();
    expect(loaded).toEqual({ generation: 2, votedFor: 'athens' });
    const state = { generation: 3 };
    await store.save(state);
    state.generation = 100;
    expect(await store.load()).toEqual({ generation: 3 });
    expect(store.saves).toBe(1);
    expect(await new InMemoryGenerationStore().load()).toBeUndefined();
  });
});

describe('the attachment', () => {
  it('is carried forward by next, observe and vote, and replaced by persist', async () => {
    const store = new InMemoryGenerationStore();
    const attachment = new Uint8Array([1, 2, 3]);
    await store.save({ generation: 1, attachment });
    const clock = await GenerationClock.open(store);
    await clock.next();
    expect((await store.load())?.attachment).toEqual(attachment);
    await clock.observe(5);
    await clock.vote('b', 6);
    expect(await store.load()).toEqual({ generation: 6, votedFor: 'b', attachment });
    const replaced = new Uint8Array([9]);
    await clock.persist({ generation: 6, votedFor: 'b', attachment: replaced });
    expect((await store.load())?.attachment).toEqual(replaced);
  });
});
