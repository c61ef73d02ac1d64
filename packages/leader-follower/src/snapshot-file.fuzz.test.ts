// Structured fuzzing of the snapshot file as read from disk and as received from a leader
// (issue 23): a saved snapshot is mutated (bit flips, truncation, extension, header fields set
// huge) or replaced by raw bytes. Loading it, reading it in chunks of any size, or installing it
// as a received copy must give back exactly the snapshot that was saved or throw
// SnapshotCorruptionError; nothing else. FUZZ_RUNS scales the cases (docs/guides/fuzzing.md).
import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyFuzzPlan, fuzzPlan } from '../../../tools/fuzz/byte-mutations.js';
import { fuzzRuns, fuzzTimeoutMs } from '../../../tools/fuzz/fuzz-runs.js';
import { clusterConfiguration } from './cluster-configuration.js';
import { SnapshotCorruptionError, SnapshotFile } from './snapshot-file.js';

const runs = fuzzRuns(150);
const directory = '/data';
const path = `${directory}/snapshot`;

const snapshot = fc.record({
  index: fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: Number.MAX_SAFE_INTEGER })),
  generation: fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: Number.MAX_SAFE_INTEGER })),
  data: fc.uint8Array({ maxLength: 200 }),
  // Format 3 when a configuration is recorded, format 2 otherwise.
  configuration: fc.option(
    fc
      .uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 })
      .map((ids) => clusterConfiguration(ids.slice(0, 1), ids.slice(1))),
    { nil: undefined },
  ),
});

/** What `load` gives back: the snapshot without its configuration (that is in the metadata). */
const loadedOf = ({
  index,
  generation,
  data,
}: {
  index: number;
  generation: number;
  data: Uint8Array;
}) => ({ index, generation, data });

async function writeFile(fs: FaultFileSystem, file: string, bytes: Uint8Array): Promise<void> {
  await fs.mkdir(directory);
  const handle = await fs.open(file, 'create');
  await handle.truncate(0);
  await handle.write(bytes, 0, bytes.length, 0);
  await handle.datasync();
  await handle.close();
}

async function expectSameOrCorrupt<T>(
  read: () => Promise<T>,
  check: (value: T) => void | Promise<void>,
): Promise<void> {
  let value: T;
  try {
    value = await read();
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshotCorruptionError);
    return;
  }
  await check(value);
}

describe('snapshot file under fuzzing', () => {
  it(
    'loads a damaged file as exactly the saved snapshot or throws SnapshotCorruptionError',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          snapshot,
          fuzzPlan,
          fc.integer({ min: 1, max: 64 }),
          async (original, plan, chunkBytes) => {
            const fs = new FaultFileSystem({ random: seededRandom(1) });
            const file = new SnapshotFile(fs, directory);
            const { configuration, ...plain } = original;
            const metadata = await file.save(
              configuration === undefined ? plain : { ...plain, configuration },
            );
            const bytes = applyFuzzPlan(fs.fileContent(path)!, plan);
            await writeFile(fs, path, bytes);
            await expectSameOrCorrupt(
              () => file.load(),
              (loaded) => expect(loaded).toEqual(loadedOf(original)),
            );
            // Read in chunks of any size: every chunk is the saved data, and the end is verified.
            await expectSameOrCorrupt(
              async () => {
                const stored = await file.open();
                const parts: Uint8Array[] = [];
                try {
                  for await (const chunk of stored!.chunks(chunkBytes)) parts.push(chunk);
                  return {
                    metadata: stored!.metadata,
                    data: Buffer.concat(parts),
                    verified: stored!.verified,
                  };
                } finally {
                  await stored!.close();
                }
              },
              (read) => {
                expect(read.verified).toBe(true);
                expect(read.metadata).toEqual(metadata);
                expect(new Uint8Array(read.data)).toEqual(original.data);
              },
            );
            // The same bytes received from a leader, in chunks, for the metadata it announced.
            const receiver = new SnapshotFile(fs, directory, 'received');
            for (let offset = 0; offset < bytes.length || offset === 0; offset += chunkBytes) {
              await receiver.writeIncoming(offset, bytes.subarray(offset, offset + chunkBytes));
              if (bytes.length === 0) break;
            }
            await expectSameOrCorrupt(
              () => receiver.installIncoming(metadata),
              async (installed) => {
                expect(installed.metadata).toEqual(metadata);
                await installed.close();
                expect(await receiver.load()).toEqual(loadedOf(original));
              },
            );
          },
        ),
        { numRuns: runs },
      );
    },
    fuzzTimeoutMs(runs, 30),
  );
});
