// Structured fuzzing of the binary codecs of commands (what the log replicates and every member
// applies), requests and results (issue 23): valid encodings mutated (bit flips, truncation,
// extension, lengths and counts set huge, nesting deepened) or replaced by raw bytes. Every input
// decodes to a value whose re-encoding decodes to the same value, or throws
// MalformedEncodingError; never another error, never a stack overflow. FUZZ_RUNS scales the cases
// (docs/guides/fuzzing.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzedBytes } from '../../../../tools/fuzz/byte-mutations.js';
import { fuzzRuns, fuzzTimeoutMs } from '../../../../tools/fuzz/fuzz-runs.js';
import { kvCommand, responseOp } from '../../test/support/kv-arbitraries.js';
import { BinaryReader, MalformedEncodingError, TruncatedEncodingError } from './binary-reader.js';
import { BinaryWriter } from './binary-writer.js';
import { decodeCommand, encodeCommand } from './command-codec.js';
import { MAX_DECODED_TXN_DEPTH } from './request-codec.js';
import { decodeResponseOp, encodeResponseOp } from './result-codec.js';

const runs = fuzzRuns(500);

function expectMalformed(error: unknown): void {
  expect(error).toBeInstanceOf(MalformedEncodingError);
}

function encodeResult(result: Parameters<typeof encodeResponseOp>[1]): Uint8Array {
  const writer = new BinaryWriter(64);
  encodeResponseOp(writer, result);
  return writer.finishExact();
}

/** A command nested `depth` transactions deep: 3 bytes per level. */
function nestedCommand(depth: number): Uint8Array {
  const bytes = [1, 3, 0];
  for (let level = 0; level < depth; level++) bytes.push(0, 1, 4);
  bytes.push(0, 0, 0);
  for (let level = 0; level < depth; level++) bytes.push(0);
  return Uint8Array.from(bytes);
}

describe('command codec under fuzzing', () => {
  it(
    'decodes a mutated or random command to one that round-trips, or throws MalformedEncodingError',
    () => {
      fc.assert(
        fc.property(fuzzedBytes(kvCommand.map(encodeCommand)), (bytes) => {
          let decoded;
          try {
            decoded = decodeCommand(bytes);
          } catch (error) {
            expectMalformed(error);
            return;
          }
          const again = decodeCommand(encodeCommand(decoded.command));
          expect(again.command).toEqual(decoded.command);
        }),
        { numRuns: runs },
      );
    },
    fuzzTimeoutMs(runs),
  );

  it('refuses transactions nested beyond the bound with MalformedEncodingError, not a stack overflow', () => {
    expect(decodeCommand(nestedCommand(MAX_DECODED_TXN_DEPTH)).command.type).toBe('txn');
    for (const depth of [MAX_DECODED_TXN_DEPTH + 1, 200_000]) {
      expect(() => decodeCommand(nestedCommand(depth))).toThrow(MalformedEncodingError);
    }
  });
});

describe('declared lengths', () => {
  it('fail fast with TruncatedEncodingError when a length or count is huge, allocating nothing', () => {
    for (const declared of [2 ** 31, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER]) {
      const writer = new BinaryWriter(16);
      writer.writeVarint(declared);
      writer.writeByte(0x61);
      const bytes = writer.finish();
      expect(() => new BinaryReader(bytes).readByteString()).toThrow(TruncatedEncodingError);
      expect(() => new BinaryReader(bytes).readBytes()).toThrow(TruncatedEncodingError);
      expect(() => new BinaryReader(bytes).readUtf8()).toThrow(TruncatedEncodingError);
      // A command whose request id claims that many bytes.
      expect(() => decodeCommand(Uint8Array.of(1, 1, ...bytes))).toThrow(TruncatedEncodingError);
    }
  });
});

describe('command encoder', () => {
  it('encodes only what decodes: a number beyond 2^53 is refused with RangeError, not logged', () => {
    const number = fc.oneof(
      fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      fc.constantFrom(2 ** 53, 1e16, 2 ** 64, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY),
    );
    fc.assert(
      fc.property(number, (operand) => {
        const command = {
          type: 'txn' as const,
          request: {
            compare: [
              { target: 'mod' as const, result: 'equal' as const, key: 'k', rangeEnd: '', operand },
            ],
            success: [],
            failure: [],
          },
        };
        let encoded: Uint8Array;
        try {
          encoded = encodeCommand(command);
        } catch (error) {
          expect(error).toBeInstanceOf(RangeError);
          expect(Number.isSafeInteger(operand) && operand >= 0).toBe(false);
          return;
        }
        expect(decodeCommand(encoded).command).toEqual(command);
      }),
      { numRuns: Math.min(runs, 500) },
    );
  });
});

describe('result codec under fuzzing', () => {
  it(
    'decodes a mutated or random result to one that round-trips, or throws MalformedEncodingError',
    () => {
      fc.assert(
        fc.property(fuzzedBytes(responseOp.map(encodeResult)), (bytes) => {
          let decoded;
          try {
            decoded = decodeResponseOp(new BinaryReader(bytes));
          } catch (error) {
            expectMalformed(error);
            return;
          }
          expect(decodeResponseOp(new BinaryReader(encodeResult(decoded)))).toEqual(decoded);
        }),
        { numRuns: runs },
      );
    },
    fuzzTimeoutMs(runs),
  );

  it('refuses results nested beyond the bound with MalformedEncodingError', () => {
    // A txn result (tag 4, not succeeded, one response) per level, then an empty one.
    const bytes: number[] = [];
    for (let level = 0; level < 200_000; level++) bytes.push(4, 0, 1);
    bytes.push(4, 0, 0, 0);
    expect(() => decodeResponseOp(new BinaryReader(Uint8Array.from(bytes)))).toThrow(
      MalformedEncodingError,
    );
  });
});
