// Structured fuzzing of segment scanning and of recovery on open (issue 23): a log written in
// synced batches across several segments has one segment mutated (bit flips, truncation,
// extension, a record's length set huge, bytes inserted or deleted) or replaced by raw bytes, all
// through the fault file system. Scanning never throws and reports only consecutive, whole
// records; opening either refuses with WalCorruptionError or opens a log whose every entry is the
// one that was written at its index. FUZZ_RUNS scales the cases (docs/guides/fuzzing.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyFuzzPlan, fuzzPlan } from '../../../tools/fuzz/byte-mutations.js';
import { fuzzRuns, fuzzTimeoutMs } from '../../../tools/fuzz/fuzz-runs.js';
import { WalCorruptionError } from './errors.js';
import { parseSegmentFileName } from './segment-name.js';
import { scanSegment } from './segment-scan.js';
import { FaultFileSystem } from './testing/fault-file-system.js';
import { seededRandom } from './testing/seeded-random.js';
import { WriteAheadLog } from './write-ahead-log.js';

const runs = fuzzRuns(100);
const directory = '/w';

async function replaceFile(fs: FaultFileSystem, path: string, bytes: Uint8Array): Promise<void> {
  const handle = await fs.open(path, 'readwrite');
  await handle.truncate(0);
  await handle.write(bytes, 0, bytes.length, 0);
  await handle.datasync();
  await handle.close();
}

const scenario = fc.record({
  batches: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }),
  maxSegmentBytes: fc.integer({ min: 96, max: 400 }),
  payloadBytes: fc.nat({ max: 40 }),
  segmentChoice: fc.nat(),
  plan: fuzzPlan,
});

describe('segment scan and recovery under fuzzing', () => {
  it(
    'scan reports whole consecutive records; open refuses or returns only written entries',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          scenario,
          async ({ batches, maxSegmentBytes, payloadBytes, segmentChoice, plan }) => {
            const fs = new FaultFileSystem({ random: seededRandom(1) });
            const open = () =>
              WriteAheadLog.open(directory, {
                fileSystem: fs,
                maxSegmentBytes,
                wallClock: { now: () => 0 },
              });
            const log = await open();
            const written = new Map<number, Uint8Array>();
            for (const size of batches) {
              const batch = Array.from({ length: size }, (_, i) => ({
                generation: 1,
                type: i,
                payload: Uint8Array.from(
                  { length: (payloadBytes + written.size) % 41 },
                  (_, j) => written.size + j,
                ),
              }));
              const first = log.lastIndex + 1;
              await log.appendAll(batch);
              batch.forEach((entry, i) => written.set(first + i, entry.payload));
            }
            await log.close();
            const segments = fs.listFiles().filter((path) => path.endsWith('.wal'));
            const target = segments[segmentChoice % segments.length]!;
            const fuzzed = applyFuzzPlan(fs.fileContent(target)!, plan);
            await replaceFile(fs, target, fuzzed);

            const firstIndex = parseSegmentFileName(target.slice(directory.length + 1))!;
            const handle = await fs.open(target, 'read');
            const indexes: number[] = [];
            const scan = await scanSegment(handle, firstIndex, ({ index }, offset) => {
              expect(offset).toBeLessThan(fuzzed.length);
              indexes.push(index);
            });
            await handle.close();
            expect(scan.size).toBe(fuzzed.length);
            expect(scan.validEnd).toBeLessThanOrEqual(scan.size);
            expect(indexes).toEqual(indexes.map((_, i) => firstIndex + i));
            if (scan.invalid === undefined) expect(scan.validEnd).toBe(scan.size);
            else expect(scan.invalid.offset).toBe(scan.validEnd);

            let reopened: WriteAheadLog;
            try {
              reopened = await open();
            } catch (error) {
              expect(error).toBeInstanceOf(WalCorruptionError);
              return;
            }
            try {
              for await (const entry of reopened.entries()) {
                expect(entry.payload).toEqual(written.get(entry.index));
              }
            } finally {
              await reopened.close();
            }
          },
        ),
        { numRuns: runs },
      );
    },
    fuzzTimeoutMs(runs, 50),
  );
});
