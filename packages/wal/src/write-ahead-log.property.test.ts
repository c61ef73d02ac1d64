import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FaultFileSystem } from './testing/fault-file-system.js';
import { seededRandom } from './testing/seeded-random.js';
import { WriteAheadLog, type WalEntry } from './write-ahead-log.js';

// Model-based properties over random sequences of appends, truncations, cleanups, syncs and
// crashes on the fault-injecting file system. Each case is small so that >= 10,000 sequences run
// in a few seconds (the floor).

const DIR = '/wal';

type Command =
  | { kind: 'append'; count: number; bump: boolean; length: number }
  | { kind: 'settle' }
  | { kind: 'truncate'; back: number }
  | { kind: 'release'; ahead: number }
  | { kind: 'crash'; ticks: number }
  | { kind: 'reopen' };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      count: fc.integer({ min: 1, max: 4 }),
      bump: fc.boolean(),
      length: fc.integer({ min: 0, max: 60 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'settle' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('truncate' as const),
      back: fc.integer({ min: 0, max: 6 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('release' as const),
      ahead: fc.integer({ min: 0, max: 8 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('crash' as const),
      ticks: fc.integer({ min: 0, max: 12 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

/** "Sometimes" counters: a property proves little unless these paths were actually exercised. */
const seen = { tornTails: 0, lostUnacknowledged: 0, rolledSegments: 0 };

const key = (generation: number, payload: Uint8Array) => `${generation}:${payload.join(',')}`;

async function readAll(log: WriteAheadLog): Promise<WalEntry[]> {
  return log.lastIndex < log.firstIndex ? [] : log.readRange(log.firstIndex, log.lastIndex);
}

async function runScenario(
  seed: number,
  sectorSize: number,
  maxSegmentBytes: number,
  commands: Command[],
) {
  const fs = new FaultFileSystem({ random: seededRandom(seed), sectorSize });
  const open = async () => {
    const visited: WalEntry[] = [];
    const opened = await WriteAheadLog.open(DIR, {
      fileSystem: fs.processView(),
      maxSegmentBytes,
      // The disk's sector: a torn write leaves whole sectors of this size unwritten.
      sectorBytes: sectorSize,
      wallClock: { now: () => 0 },
      onRecoveredEntry: (entry) => visited.push({ ...entry, payload: entry.payload.slice() }),
    });
    // The entries handed over during open are exactly the recovered log: none of a torn tail.
    expect(visited).toEqual(await readAll(opened));
    return opened;
  };
  let log = await open();
  /** Every version ever appended at each index. */
  const versions = new Map<number, Set<string>>();
  /** Entries that must survive: resolved appends, minus what was since truncated or released. */
  const mustHave = new Map<number, string>();
  let pending: Promise<unknown>[] = [];
  let unique = 0;

  const settle = async () => {
    await Promise.allSettled(pending);
    pending = [];
  };

  const checkRecovered = async (recovered: WriteAheadLog) => {
    const entries = await readAll(recovered);
    for (const [index, version] of mustHave) {
      expect(index).toBeGreaterThanOrEqual(recovered.firstIndex);
      expect(index).toBeLessThanOrEqual(recovered.lastIndex);
      const entry = entries[index - recovered.firstIndex]!;
      expect(key(entry.generation, entry.payload)).toBe(version);
    }
    mustHave.clear();
    for (const entry of entries) {
      const version = key(entry.generation, entry.payload);
      expect(versions.get(entry.index)?.has(version)).toBe(true);
      mustHave.set(entry.index, version); // durable after recovery
    }
    return entries;
  };

  for (const step of commands) {
    if (log.failure) break; // only crashes can fail the log here; the crash step reopens
    switch (step.kind) {
      case 'append':
        for (let i = 0; i < step.count; i++) {
          const generation = log.lastGeneration + (step.bump && i === 0 ? 1 : 0);
          const payload = new Uint8Array(step.length + 2);
          payload[0] = ++unique & 0xff;
          payload[1] = unique >> 8;
          const index = log.lastIndex + 1;
          const version = key(generation, payload);
          if (!versions.has(index)) versions.set(index, new Set());
          versions.get(index)!.add(version);
          pending.push(
            log.append({ generation, type: unique & 3, payload }).then(
              (resolved) => {
                expect(resolved).toBe(index);
                mustHave.set(index, version);
              },
              () => undefined,
            ),
          );
        }
        break;
      case 'settle':
        await settle();
        break;
      case 'truncate': {
        await settle();
        const from = Math.max(log.firstIndex, log.lastIndex + 1 - step.back);
        await log.truncateSuffix(from);
        for (const index of [...mustHave.keys()]) if (index >= from) mustHave.delete(index);
        break;
      }
      case 'release': {
        await settle();
        await log.releaseBelow(log.firstIndex + step.ahead);
        for (const index of [...mustHave.keys()])
          if (index < log.firstIndex) mustHave.delete(index);
        break;
      }
      case 'crash': {
        for (let i = 0; i < step.ticks; i++) await Promise.resolve();
        const lastBeforeCrash = log.lastIndex;
        fs.crash();
        await settle();
        log = await open();
        if (log.recovery.tornTail) seen.tornTails++;
        if (log.lastIndex < lastBeforeCrash) seen.lostUnacknowledged++;
        if (log.segments().length > 1) seen.rolledSegments++;
        const first = await checkRecovered(log);
        // Recovery is idempotent: opening again finds the same log.
        const bounds = [log.firstIndex, log.lastIndex];
        await log.close();
        log = await open();
        expect([log.firstIndex, log.lastIndex]).toEqual(bounds);
        expect(log.recovery.tornTail).toBeUndefined();
        expect(await readAll(log)).toEqual(first);
        break;
      }
      case 'reopen': {
        await settle();
        const bounds = [log.firstIndex, log.lastIndex];
        await log.close();
        log = await open();
        expect([log.firstIndex, log.lastIndex]).toEqual(bounds);
        await checkRecovered(log);
        break;
      }
    }
  }
  await settle();
  fs.crash();
  log = await open();
  await checkRecovered(log);
  await log.close();
}

const scenario = fc.tuple(
  fc.integer({ min: 1, max: 2 ** 31 }),
  fc.constantFrom(64, 512),
  fc.integer({ min: 150, max: 600 }),
  fc.array(command, { minLength: 1, maxLength: 14 }),
);

describe('write-ahead log properties on the fault file system', () => {
  it('never loses a resolved append, never invents one, and recovers idempotently', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, ([seed, sector, segmentBytes, commands]) =>
        runScenario(seed, sector, segmentBytes, commands),
      ),
      { numRuns: 10_000 },
    );
    expect(seen.tornTails).toBeGreaterThan(100);
    expect(seen.lostUnacknowledged).toBeGreaterThan(100);
    expect(seen.rolledSegments).toBeGreaterThan(100);
  }, 240_000);
});
