import { describe, expect, it } from 'vitest';
import { VolatileGenerationClock } from './volatile-generation-clock.js';

describe('VolatileGenerationClock', () => {
  it('starts at the recovered state, or at generation 0 with no vote', () => {
    expect(new VolatileGenerationClock().state).toEqual({ generation: 0 });
    const clock = new VolatileGenerationClock({ generation: 4, votedFor: 'b' });
    expect(clock.current).toBe(4);
    expect(clock.votedFor).toBe('b');
    expect(() => new VolatileGenerationClock({ generation: -1 })).toThrow(RangeError);
  });

  it('moves to the next generation with an optional vote for the candidate itself', () => {
    const clock = new VolatileGenerationClock({ generation: 2, votedFor: 'x' });
    expect(clock.next('a')).toBe(3);
    expect(clock.state).toEqual({ generation: 3, votedFor: 'a' });
    expect(clock.next()).toBe(4);
    expect(clock.votedFor).toBeUndefined();
  });

  it('adopts only higher generations, clearing the vote', () => {
    const clock = new VolatileGenerationClock({ generation: 5, votedFor: 'a' });
    expect(clock.observe(5)).toBe(false);
    expect(clock.observe(3)).toBe(false);
    expect(clock.state).toEqual({ generation: 5, votedFor: 'a' });
    expect(clock.observe(7)).toBe(true);
    expect(clock.state).toEqual({ generation: 7 });
    expect(() => clock.observe(1.5)).toThrow(RangeError);
  });

  it('casts at most one vote per generation', () => {
    const clock = new VolatileGenerationClock({ generation: 1 });
    expect(clock.vote('a')).toBe(true);
    expect(clock.vote('a')).toBe(true);
    expect(clock.vote('b')).toBe(false);
    expect(clock.votedFor).toBe('a');
    clock.observe(2);
    expect(clock.vote('b')).toBe(true);
  });

  it('compares generations and tells stale ones', () => {
    const clock = new VolatileGenerationClock({ generation: 3 });
    expect(clock.compare(2)).toBe(-1);
    expect(clock.compare(3)).toBe(0);
    expect(clock.compare(9)).toBe(1);
    expect(clock.isStale(2)).toBe(true);
    expect(clock.isStale(3)).toBe(false);
  });
});
