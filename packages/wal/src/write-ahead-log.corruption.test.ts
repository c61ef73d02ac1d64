import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FaultFileSystem } from './testing/fault-file-system.js';
import { seededRandom } from './testing/seeded-random.js';
import { WalCorruptionError } from './errors.js';
import { WriteAheadLog } from './write-ahead-log.js';

// Bit rot anywhere in a log written in several synced batches: opening either refuses with a
// WalCorruptionError naming the damaged file, or (only for damage in the final batch, which no
// later record vouches for) cuts a torn tail with a .broken copy. It never returns wrong data and
// never silently drops an entry of an earlier batch.

describe('bit flips in a synced log', () => {
  it('are refused or repaired as a torn tail of the last batch, never read back', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 6 }),
        fc.integer({ min: 100, max: 400 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        async (batchSizes, maxSegmentBytes, where, bit) => {
          const fs = new FaultFileSystem({ random: seededRandom(1) });
          const open = () =>
            WriteAheadLog.open('/w', {
              fileSystem: fs,
              maxSegmentBytes,
              wallClock: { now: () => 0 },
            });
          const log = await open();
          const payloads: Uint8Array[] = [new Uint8Array()];
          for (const size of batchSizes) {
            const batch = Array.from({ length: size }, () => {
              const payload = Uint8Array.from(
                { length: 5 + (payloads.length % 13) },
                (_, i) => payloads.length + i,
              );
              payloads.push(payload);
              return { generation: 1, payload };
            });
            await log.appendAll(batch);
          }
          const lastBatchFirst = log.lastIndex - batchSizes.at(-1)! + 1;
          await log.close();
          const segments = fs.listFiles().filter((path) => path.endsWith('.wal'));
          const target = segments[where % segments.length]!;
          const size = fs.fileContent(target)!.length;
          fs.flipBit(target, Math.floor(where / segments.length) % size, bit);
          let reopened: WriteAheadLog;
          try {
            reopened = await open();
          } catch (error) {
            expect(error).toBeInstanceOf(WalCorruptionError);
            expect((error as WalCorruptionError).file).toBe(target);
            return;
          }
          const tornTail = reopened.recovery.tornTail;
          expect(tornTail?.file).toBe(target);
          expect(reopened.lastIndex + 1).toBeGreaterThanOrEqual(lastBatchFirst);
          for await (const entry of reopened.entries())
            expect(entry.payload).toEqual(payloads[entry.index]);
          await reopened.close();
        },
      ),
      { numRuns: 400 },
    );
  }, 60_000);
});
