import { describe, expect, it } from 'vitest';
import type { Timers } from './api-context.js';
import { SharedDeadlines } from './shared-deadlines.js';

/** Virtual time: timers run when `advance` passes them. */
class VirtualTimers implements Timers {
  now = 0;
  readonly #pending = new Map<number, { at: number; callback: () => void }>();
  #nextHandle = 1;

  get armed(): number {
    return this.#pending.size;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const handle = this.#nextHandle++;
    this.#pending.set(handle, { at: this.now + delayMs, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.#pending.entries()]
        .filter(([, timer]) => timer.at <= until)
        .sort((left, right) => left[1].at - right[1].at)[0];
      if (due === undefined) break;
      this.#pending.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
    }
    this.now = until;
  }
}

describe('shared deadlines', () => {
  it('never fires before the timeout and at most one slice after it', () => {
    const timers = new VirtualTimers();
    const deadlines = new SharedDeadlines(timers, 1000);
    const firedAt: number[] = [];
    const startedAt: number[] = [];
    for (let step = 0; step < 30; step++) {
      const started = timers.now;
      startedAt.push(started);
      deadlines.start(() => firedAt.push(timers.now - started));
      timers.advance(37);
    }
    timers.advance(2000);
    expect(firedAt).toHaveLength(30);
    for (const waited of firedAt) {
      expect(waited).toBeGreaterThanOrEqual(1000);
      expect(waited).toBeLessThanOrEqual(1100);
    }
  });

  it('does not fire cancelled operations and leaves no timer armed once all are done', () => {
    const timers = new VirtualTimers();
    const deadlines = new SharedDeadlines(timers, 1000);
    let fired = 0;
    const cancels = Array.from({ length: 10 }, () => deadlines.start(() => fired++));
    for (const cancel of cancels) cancel();
    timers.advance(100);
    expect(timers.armed).toBe(0);
    const late = deadlines.start(() => fired++);
    timers.advance(150);
    late();
    expect(timers.armed).toBe(0);
    timers.advance(5000);
    expect(fired).toBe(0);
  });

  it('uses few timers for many operations', () => {
    const timers = new VirtualTimers();
    const deadlines = new SharedDeadlines(timers, 7000);
    for (let index = 0; index < 1000; index++) deadlines.start(() => undefined);
    expect(timers.armed).toBe(2);
  });
});
