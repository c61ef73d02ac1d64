import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandBytesOf, EMPTY_COMMAND, isHollowEntry } from './log-entry.js';
import type { LogEntry } from './log-entry.js';
import { ReplicatedLog } from './replicated-log.js';
import { clusterConfiguration, encodeConfiguration } from './cluster-configuration.js';

const commandOf = (index: number, size: number): LogEntry => ({
  index,
  generation: 1,
  kind: 'command',
  command: new Uint8Array(size).fill(index & 255),
});

/** A log holding one command per size, from index 1. */
function logWith(sizes: number[]): ReplicatedLog {
  return new ReplicatedLog(
    0,
    0,
    sizes.map((size, i) => commandOf(i + 1, size)),
  );
}

const sizesIn = (log: ReplicatedLog, from: number, to: number): number[] =>
  log.slice(from, to).map(commandBytesOf);
const heldIn = (log: ReplicatedLog, from: number, to: number): number[] =>
  log.slice(from, to).map((entry) => entry.command.length);

describe('the payload window of the replicated log', () => {
  it('hollows entries through the index: sizes, generations and kinds stay', () => {
    const log = new ReplicatedLog(0, 0, [
      commandOf(1, 10),
      commandOf(2, 20),
      { index: 3, generation: 2, kind: 'empty', command: EMPTY_COMMAND },
      commandOf(4, 30),
      commandOf(5, 40),
    ]);
    expect(log.payloadBytes).toBe(100);
    expect(log.dropPayloadsThrough(4, 0)).toBe(3);
    expect(log.hollowThrough).toBe(4);
    expect(log.payloadBytes).toBe(40);
    expect(heldIn(log, 1, 5)).toEqual([0, 0, 0, 0, 40]);
    expect(sizesIn(log, 1, 5)).toEqual([10, 20, 0, 30, 40]);
    expect(log.slice(1, 5).map(isHollowEntry)).toEqual([true, true, false, true, false]);
    expect(log.entryAt(3)).toMatchObject({ kind: 'empty', generation: 2 });
    expect(log.entryAt(4)).toMatchObject({
      kind: 'command',
      generation: 1,
      hollowCommandBytes: 30,
    });
    expect(log.matches(4, 1)).toBe(true);
    // The entry above the window keeps its very bytes.
    expect(log.entryAt(5)?.command).toEqual(new Uint8Array(40).fill(5));
  });

  it('batches by the real command sizes, hollow or not', () => {
    const log = logWith([10, 20, 30, 40]);
    log.dropPayloadsThrough(4, 0);
    expect(log.slice(1, 4, 30).map((entry) => entry.index)).toEqual([1, 2]);
    expect(log.slice(1, 4, 59).map((entry) => entry.index)).toEqual([1, 2]);
    expect(log.slice(1, 4, 60).map((entry) => entry.index)).toEqual([1, 2, 3]);
    expect(log.slice(4, 4, 1).map((entry) => entry.index)).toEqual([4]);
  });

  it('keeps the most recent payloads up to the window, counting entries not yet released', () => {
    const log = logWith(Array.from({ length: 10 }, () => 10));
    expect(log.dropPayloadsThrough(10, 35)).toBe(7);
    expect(log.payloadBytes).toBe(30);
    expect(heldIn(log, 1, 10)).toEqual([0, 0, 0, 0, 0, 0, 0, 10, 10, 10]);
    // Only entries the caller releases go hollow, however much is held above them.
    for (let index = 11; index <= 20; index++) log.append(commandOf(index, 10));
    expect(log.dropPayloadsThrough(9, 0)).toBe(2);
    expect(log.hollowThrough).toBe(9);
    expect(log.payloadBytes).toBe(110);
    // The window moves on as entries are released.
    log.dropPayloadsThrough(20, 35);
    expect(log.payloadBytes).toBe(30);
    expect(heldIn(log, 17, 20)).toEqual([0, 10, 10, 10]);
  });

  it('never drops anything with an unbounded window', () => {
    const log = logWith([5, 5, 5]);
    expect(log.dropPayloadsThrough(3, Number.POSITIVE_INFINITY)).toBe(0);
    expect(log.payloadBytes).toBe(15);
    expect(log.hollowThrough).toBe(0);
  });

  it('compaction forgets the bytes of compacted entries, hollow or not', () => {
    const log = logWith([10, 20, 30, 40, 50]);
    log.dropPayloadsThrough(2, 0);
    log.compactThrough(1);
    expect([log.payloadBytes, log.hollowThrough]).toEqual([120, 2]);
    log.compactThrough(4);
    expect([log.payloadBytes, log.hollowThrough, log.firstIndex]).toEqual([50, 4, 5]);
    expect(log.dropPayloadsThrough(5, 0)).toBe(1);
    expect(log.payloadBytes).toBe(0);
  });

  it('truncation forgets the bytes of the dropped suffix and never leaves a hollow mark beyond it', () => {
    const log = logWith([10, 20, 30, 40, 50]);
    log.dropPayloadsThrough(2, 0);
    log.truncateAfter(3);
    expect([log.payloadBytes, log.hollowThrough, log.lastIndex]).toEqual([30, 2, 3]);
    log.truncateAfter(1);
    expect([log.payloadBytes, log.hollowThrough]).toEqual([0, 1]);
    log.append(commandOf(2, 7));
    expect(log.entryAt(2)?.command.length).toBe(7);
    expect(log.payloadBytes).toBe(7);
  });

  it('a reset after a snapshot holds nothing', () => {
    const log = logWith([10, 20]);
    log.resetTo(9, 3);
    expect([log.payloadBytes, log.hollowThrough, log.lastIndex]).toEqual([0, 9, 9]);
  });

  it('refuses to append a hollow entry', () => {
    const log = logWith([]);
    const hollow: LogEntry = { ...commandOf(1, 0), hollowCommandBytes: 10 };
    expect(() => log.append(hollow)).toThrow(/hollow/);
  });

  it('keeps its byte count and hollow prefix exact under any mix of operations', () => {
    type Operation =
      | { kind: 'append'; size: number }
      | { kind: 'drop'; back: number; keep: number }
      | { kind: 'compact'; back: number }
      | { kind: 'truncate'; back: number };
    const operation: fc.Arbitrary<Operation> = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), size: fc.nat({ max: 50 }) }),
      fc.record({
        kind: fc.constant('drop' as const),
        back: fc.nat({ max: 6 }),
        keep: fc.nat({ max: 120 }),
      }),
      fc.record({ kind: fc.constant('compact' as const), back: fc.nat({ max: 8 }) }),
      fc.record({ kind: fc.constant('truncate' as const), back: fc.nat({ max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const log = logWith([]);
        const sizes = new Map<number, number>();
        for (const step of operations) {
          if (step.kind === 'append') {
            const index = log.lastIndex + 1;
            sizes.set(index, step.size);
            log.append(commandOf(index, step.size));
          } else if (step.kind === 'drop') {
            const held = log.payloadBytes;
            log.dropPayloadsThrough(log.lastIndex - step.back, step.keep);
            expect(log.payloadBytes).toBeLessThanOrEqual(held);
          } else if (step.kind === 'compact') {
            const index = log.lastIndex - step.back;
            if (index >= log.compactedIndex) log.compactThrough(index);
          } else {
            const index = log.lastIndex - step.back;
            if (index >= log.compactedIndex) log.truncateAfter(index);
          }
          let held = 0;
          for (let index = log.firstIndex; index <= log.lastIndex; index++) {
            const entry = log.entryAt(index);
            if (entry === undefined) throw new Error(`missing ${index}`);
            expect(commandBytesOf(entry)).toBe(sizes.get(index));
            expect(isHollowEntry(entry)).toBe(index <= log.hollowThrough && sizes.get(index) !== 0);
            held += entry.command.length;
          }
          expect(log.payloadBytes).toBe(held);
          expect(log.hollowThrough).toBeGreaterThanOrEqual(log.compactedIndex);
          expect(log.hollowThrough).toBeLessThanOrEqual(
            Math.max(log.lastIndex, log.compactedIndex),
          );
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('a replicated log built from a recovered tail with a hollow prefix', () => {
  const hollowOf = (entry: LogEntry): LogEntry => ({
    ...entry,
    command: EMPTY_COMMAND,
    hollowCommandBytes: entry.command.length,
  });
  const configurationEntry = (index: number): LogEntry => ({
    index,
    generation: 1,
    kind: 'configuration',
    command: encodeConfiguration(clusterConfiguration(['a', 'b'], [])),
  });

  it('holds the prefix hollow, notes a whole configuration entry in it, and the rest whole', () => {
    const log = new ReplicatedLog(10, 1, [
      hollowOf(commandOf(11, 40)),
      configurationEntry(12),
      hollowOf(commandOf(13, 40)),
      commandOf(14, 40),
      commandOf(15, 40),
    ]);
    expect(log.hollowThrough).toBe(13);
    expect(log.payloadBytes).toBe(80);
    expect(isHollowEntry(log.entryAt(12)!)).toBe(true);
    expect(log.configurations.at(12)?.voters).toEqual(['a', 'b']);
    expect(sizesIn(log, 11, 15)).toEqual([40, commandBytesOf(configurationEntry(12)), 40, 40, 40]);
    expect(heldIn(log, 11, 15)).toEqual([0, 0, 0, 40, 40]);
  });

  it('refuses a hollow configuration entry: its configuration would be lost', () => {
    expect(
      () => new ReplicatedLog(0, 0, [hollowOf(configurationEntry(1)), commandOf(2, 3)]),
    ).toThrow(/configuration entry 1 recovered hollow/);
  });
});
