// Structured fuzzing of the generation file (issue 23): valid records mutated (bit flips,
// truncation, extension, the vote length set huge) or replaced by raw bytes, decoded directly and
// loaded through FileGenerationStore on the fault file system. Every input decodes to a valid
// state that re-encodes to the same bytes, or to a reason (CorruptGenerationFileError when
// loaded); nothing throws anything else. FUZZ_RUNS scales the cases (docs/guides/fuzzing.md).
import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyFuzzPlan, fuzzPlan, fuzzedBytes } from '../../../tools/fuzz/byte-mutations.js';
import { fuzzRuns, fuzzTimeoutMs } from '../../../tools/fuzz/fuzz-runs.js';
import { CorruptGenerationFileError } from './errors.js';
import { FileGenerationStore } from './file-generation-store.js';
import { decodeGenerationState, encodeGenerationState } from './generation-file-format.js';
import type { GenerationState } from './generation-state.js';

const runs = fuzzRuns(1000);
const storeRuns = fuzzRuns(150);

const state: fc.Arbitrary<GenerationState> = fc.record(
  {
    generation: fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: Number.MAX_SAFE_INTEGER })),
    votedFor: fc.string({ maxLength: 12, unit: 'grapheme' }),
  },
  { requiredKeys: ['generation'] },
);

function expectValid(decoded: GenerationState, bytes: Uint8Array): void {
  expect(Number.isSafeInteger(decoded.generation) && decoded.generation >= 0).toBe(true);
  expect(encodeGenerationState(decoded)).toEqual(bytes);
}

describe('generation file under fuzzing', () => {
  it(
    'decodes a mutated or random record to a canonical state or to a reason',
    () => {
      fc.assert(
        fc.property(fuzzedBytes(state.map(encodeGenerationState)), (bytes) => {
          const decoded = decodeGenerationState(bytes);
          if (typeof decoded !== 'string') expectValid(decoded, bytes);
        }),
        { numRuns: runs },
      );
    },
    fuzzTimeoutMs(runs),
  );

  it(
    'loads a damaged file as a valid state or throws CorruptGenerationFileError',
    async () => {
      await fc.assert(
        fc.asyncProperty(state, fuzzPlan, async (saved, plan) => {
          const fileSystem = new FaultFileSystem({ random: seededRandom(1) });
          const store = new FileGenerationStore({ fileSystem, directory: '/d' });
          await store.load();
          await store.save(saved);
          const bytes = applyFuzzPlan(fileSystem.fileContent(store.path)!, plan);
          const handle = await fileSystem.open(store.path, 'readwrite');
          await handle.truncate(0);
          await handle.write(bytes, 0, bytes.length, 0);
          await handle.datasync();
          await handle.close();
          let loaded: GenerationState | undefined;
          try {
            loaded = await new FileGenerationStore({ fileSystem, directory: '/d' }).load();
          } catch (error) {
            expect(error).toBeInstanceOf(CorruptGenerationFileError);
            return;
          }
          expectValid(loaded!, bytes);
        }),
        { numRuns: storeRuns },
      );
    },
    fuzzTimeoutMs(storeRuns, 30),
  );
});

describe('generation file size', () => {
  it('refuses a file longer than any record before allocating it (issue 23: sizes from disk bounded first)', async () => {
    const fileSystem = new FaultFileSystem({ random: seededRandom(1) });
    const store = new FileGenerationStore({ fileSystem, directory: '/d' });
    await store.load();
    await store.save({ generation: 7 });
    // The file reports a terabyte, as a sparse or damaged file can: no buffer of it is allocated.
    const claimsHugeSize: typeof fileSystem = Object.create(fileSystem) as typeof fileSystem;
    claimsHugeSize.open = async (path, mode) => {
      const handle = await fileSystem.open(path, mode);
      return Object.assign(Object.create(handle) as typeof handle, {
        size: () => Promise.resolve(2 ** 40),
        close: () => handle.close(),
      });
    };
    const reload = new FileGenerationStore({ fileSystem: claimsHugeSize, directory: '/d' });
    await expect(reload.load()).rejects.toThrow(CorruptGenerationFileError);
    await expect(reload.load()).rejects.toThrow(/longer than any record/);
  });
});
