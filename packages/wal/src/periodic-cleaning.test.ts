import { describe, expect, it } from 'vitest';
import type { LogCleaner } from './log-cleaner.js';
import { startPeriodicCleaning } from './periodic-cleaning.js';

function manualTimers() {
  const pending = new Map<number, () => void>();
  let next = 0;
  return {
    pending,
    setTimeout: (callback: () => void) => {
      pending.set(++next, callback);
      return next;
    },
    clearTimeout: (handle: unknown) => void pending.delete(handle as number),
    fire: async () => {
      const [id, callback] = [...pending][0]!;
      pending.delete(id);
      callback();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
}

const cleaner: LogCleaner = { lowWaterMark: () => 10 };

describe('startPeriodicCleaning', () => {
  it('cleans on every tick until stopped', async () => {
    const timers = manualTimers();
    let runs = 0;
    const cleaning = startPeriodicCleaning({ clean: () => Promise.resolve(++runs) }, cleaner, {
      intervalMs: 1000,
      timers,
    });
    await timers.fire();
    await timers.fire();
    expect(runs).toBe(2);
    cleaning.stop();
    expect(timers.pending.size).toBe(0);
  });

  it('stops after a failed cleaning and logs it', async () => {
    const timers = manualTimers();
    const errors: string[] = [];
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (_: Record<string, unknown>, message: string) => void errors.push(message),
    };
    startPeriodicCleaning({ clean: () => Promise.reject(new Error('EIO')) }, cleaner, {
      intervalMs: 1000,
      timers,
      logger,
    });
    await timers.fire();
    expect(errors).toHaveLength(1);
    expect(timers.pending.size).toBe(0);
  });
});
