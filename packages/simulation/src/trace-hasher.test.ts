import { describe, expect, it } from 'vitest';
import { TraceHasher } from './trace-hasher.js';

describe('TraceHasher', () => {
  it('is equal for equal input and differs when order or content differs', () => {
    const feed = (hasher: TraceHasher, parts: string[]): string => {
      for (const part of parts) hasher.addString(part);
      return hasher.hex();
    };
    expect(feed(new TraceHasher(), ['a', 'b'])).toBe(feed(new TraceHasher(), ['a', 'b']));
    expect(feed(new TraceHasher(), ['a', 'b'])).not.toBe(feed(new TraceHasher(), ['b', 'a']));
    expect(feed(new TraceHasher(), ['ab', 'c'])).not.toBe(feed(new TraceHasher(), ['a', 'bc']));
    expect(new TraceHasher().hex()).toMatch(/^[0-9a-f]{16}$/);
  });

  it('hashes numbers by their exact bits and bytes by content', () => {
    const a = new TraceHasher();
    const b = new TraceHasher();
    a.addNumber(0.1 + 0.2);
    b.addNumber(0.3);
    expect(a.hex()).not.toBe(b.hex());
    const c = new TraceHasher();
    const d = new TraceHasher();
    c.addBytes(new Uint8Array([1, 2]));
    d.addBytes(new Uint8Array([1, 3]));
    expect(c.hex()).not.toBe(d.hex());
  });

  it('keeps a readable log only when asked', () => {
    const kept = new TraceHasher(true);
    kept.log(() => 'line');
    expect(kept.logLines).toEqual(['line']);
    const dropped = new TraceHasher();
    dropped.log(() => 'line');
    expect(dropped.logLines).toEqual([]);
  });
});
