import { describe, expect, it } from 'vitest';
import { PendingHandshakes } from './pending-handshakes.js';

interface Item {
  name: string;
  startedHandshake: boolean;
}

const idle = (name: string): Item => ({ name, startedHandshake: false });
const started = (name: string): Item => ({ name, startedHandshake: true });

describe('PendingHandshakes', () => {
  it('evicts the oldest idle connection of the same address, never one that sent a hello first', () => {
    const pending = new PendingHandshakes<Item>(64, 3);
    const peer = started('peer');
    expect(pending.admit('10.0.0.1', idle('flood-1'))).toEqual([]);
    expect(pending.admit('10.0.0.1', peer)).toEqual([]);
    expect(pending.admit('10.0.0.1', idle('flood-2'))).toEqual([]);
    for (let index = 3; index < 100; index += 1) {
      const evicted = pending.admit('10.0.0.1', idle(`flood-${index}`));
      expect(evicted).toHaveLength(1);
      expect(evicted[0]).not.toBe(peer);
    }
    expect(pending.countFrom('10.0.0.1')).toBe(3);
  });

  it('evicts the oldest when every connection of the address has sent a hello', () => {
    const pending = new PendingHandshakes<Item>(64, 2);
    const first = started('first');
    pending.admit('a', first);
    pending.admit('a', started('second'));
    expect(pending.admit('a', idle('third'))).toEqual([first]);
  });

  it('a flood from one address holds at most its share; another address always gets in', () => {
    const pending = new PendingHandshakes<Item>(4, 2);
    for (let index = 0; index < 50; index += 1) pending.admit('flood', idle(`f${index}`));
    expect(pending.size).toBe(2);
    expect(pending.admit('peer-1', started('p1'))).toEqual([]);
    expect(pending.admit('peer-2', started('p2'))).toEqual([]);
    // At the total bound, room is made at the address holding the most.
    const evicted = pending.admit('peer-3', started('p3'));
    expect(evicted.map((item) => item.name)).toEqual(['f48']);
    expect(pending.size).toBe(4);
  });

  it('forgets removed connections and rejects bounds below 1', () => {
    const pending = new PendingHandshakes<Item>(2, 2);
    const item = idle('x');
    pending.admit('a', item);
    pending.remove(item);
    pending.remove(item);
    expect(pending.size).toBe(0);
    expect(pending.countFrom('a')).toBe(0);
    expect(() => new PendingHandshakes(0, 1)).toThrow(RangeError);
    expect(() => new PendingHandshakes(1, 0)).toThrow(RangeError);
  });
});
