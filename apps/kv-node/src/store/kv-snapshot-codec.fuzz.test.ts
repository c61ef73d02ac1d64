// Structured fuzzing of the key-value snapshot as restored from disk or from a leader (issue 23):
// snapshots of random states (keys, values, remembered request ids), mutated (bit flips,
// truncation, extension, counts and lengths set huge) or replaced by raw bytes, restored whole and
// from chunks cut at any byte. Every input restores a valid state (one that snapshots and
// restores again to the same bytes, every number a safe integer) or throws
// MalformedEncodingError; whole and chunked restores agree. FUZZ_RUNS scales the cases
// (docs/guides/fuzzing.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzedBytes } from '../../../../tools/fuzz/byte-mutations.js';
import { fuzzRuns, fuzzTimeoutMs } from '../../../../tools/fuzz/fuzz-runs.js';
import { byteString } from '../../test/support/kv-arbitraries.js';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { encodeCommand } from '../codec/command-codec.js';
import { rangeRequest } from './kv-types.js';
import { KvStateMachine } from './kv-state-machine.js';

const runs = fuzzRuns(300);

const write = fc.record({
  remove: fc.boolean(),
  key: byteString,
  value: byteString,
  requestId: fc.option(fc.constantFrom('a', 'b', 'c', 'dé'), { nil: undefined }),
});

/** The snapshot of a state machine after `writes`. */
function stateAfter(
  writes: { remove: boolean; key: string; value: string; requestId: string | undefined }[],
): Uint8Array {
  const machine = new KvStateMachine();
  // Every other put attaches its key to a lease, so the snapshot carries a lease table too.
  machine.apply(
    1,
    encodeCommand({ type: 'lease', request: { op: 'grant', id: '5', ttlSeconds: 9 } }),
  );
  writes.forEach(({ remove, key, value, requestId }, index) => {
    const id = requestId === undefined ? {} : { requestId };
    const lease = index % 2 === 0 ? { lease: '5' } : {};
    machine.apply(
      index + 2,
      encodeCommand(
        remove
          ? { type: 'deleteRange', request: { key: `k${key}`, rangeEnd: '', prevKv: true }, ...id }
          : { type: 'put', request: { key: `k${key}`, value, prevKv: true, ...lease }, ...id },
      ),
    );
  });
  return machine.snapshot();
}

const snapshot = fc.array(write, { maxLength: 8 }).map(stateAfter);

/** `bytes` cut before each offset in `cuts`. */
function chunksOf(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const offsets = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const offset of offsets) {
    chunks.push(bytes.subarray(start, offset));
    start = offset;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

async function* asChunks(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield await Promise.resolve(chunk);
}

function outcome(restore: () => KvStateMachine): Uint8Array | MalformedEncodingError {
  try {
    return restore().snapshot();
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedEncodingError);
    return error as MalformedEncodingError;
  }
}

describe('kv snapshot under fuzzing', () => {
  it(
    'restores a mutated or random snapshot, whole or in chunks, to a valid state or refuses it',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fuzzedBytes(snapshot),
          fc.array(fc.nat(), { maxLength: 6 }),
          async (bytes, cuts) => {
            const whole = outcome(() => {
              const machine = new KvStateMachine();
              machine.restore(bytes, 1);
              return machine;
            });
            let chunked: Uint8Array | MalformedEncodingError;
            const machine = new KvStateMachine();
            try {
              await machine.restoreChunks(asChunks(chunksOf(bytes, cuts)), 1);
              chunked = machine.snapshot();
            } catch (error) {
              expect(error).toBeInstanceOf(MalformedEncodingError);
              chunked = error as MalformedEncodingError;
            }
            // Cut anywhere, the same bytes give the same answer.
            expect(chunked instanceof Error).toBe(whole instanceof Error);
            if (whole instanceof Error || chunked instanceof Error) return;
            expect(Buffer.from(chunked).equals(Buffer.from(whole))).toBe(true);
            // A valid state: its metadata are safe integers, and it snapshots to a fixed point.
            for (const kv of machine.store.range(rangeRequest('\0', { rangeEnd: '\0' })).kvs) {
              for (const number of [kv.createRevision, kv.modRevision, kv.version]) {
                expect(Number.isSafeInteger(number)).toBe(true);
              }
            }
            const again = new KvStateMachine();
            again.restore(whole, 1);
            expect(Buffer.from(again.snapshot()).equals(Buffer.from(whole))).toBe(true);
          },
        ),
        { numRuns: runs },
      );
    },
    fuzzTimeoutMs(runs, 20),
  );

  it('refuses huge declared key counts and lengths when the chunks end', async () => {
    const writer = new BinaryWriter(64);
    writer.writeVarint(0x4b56534e); // "KVSN"
    writer.writeByte(1);
    writer.writeVarint(1); // revision
    writer.writeVarint(Number.MAX_SAFE_INTEGER); // keys
    writer.writeVarint(2 ** 50); // the first key's length
    writer.writeByteString('abc');
    const bytes = writer.finish();
    const machine = new KvStateMachine();
    await expect(machine.restoreChunks(asChunks(chunksOf(bytes, [3, 9, 12])), 1)).rejects.toThrow(
      MalformedEncodingError,
    );
    expect(() => machine.restore(bytes, 1)).toThrow(MalformedEncodingError);
  });

  it('refuses a stored entry whose revisions are beyond 2^53', () => {
    for (const [createRevision, valid] of [
      [Number.MAX_SAFE_INTEGER, true],
      [2 ** 53, false],
      [2 ** 55, false],
    ] as const) {
      const packed = new BinaryWriter(32);
      // Through the writer's varint layout, written by hand: it refuses numbers beyond 2^53.
      let remaining = createRevision;
      while (remaining >= 0x80) {
        packed.writeByte((remaining % 0x80) | 0x80);
        remaining = Math.floor(remaining / 0x80);
      }
      packed.writeByte(remaining);
      packed.writeByte(1); // mod revision
      packed.writeByte(1); // version
      const entry = Buffer.from(packed.finish()).toString('latin1') + 'value';
      const writer = new BinaryWriter(64);
      writer.writeVarint(0x4b56534e); // "KVSN"
      writer.writeByte(1);
      writer.writeVarint(1); // revision
      writer.writeVarint(1); // one key
      writer.writeByteString('key');
      writer.writeByteString(entry);
      writer.writeVarint(0); // no remembered request ids
      const restore = () => new KvStateMachine().restore(writer.finish(), 1);
      if (valid) expect(restore).not.toThrow();
      else expect(restore).toThrow(MalformedEncodingError);
    }
  });
});
