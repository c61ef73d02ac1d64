// Structured fuzzing of the WAL's on-disk records and segment headers (issue 23): valid
// encodings mutated (bit flips, truncation, extension, the payload length set huge) or replaced by
// raw bytes. The decoders never throw: a record either fails its checks or is a whole, canonical
// record (re-encoding its fields gives the same bytes). FUZZ_RUNS scales the cases
// (docs/guides/fuzzing.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzedBytes } from '../../../tools/fuzz/byte-mutations.js';
import { fuzzRuns, fuzzTimeoutMs } from '../../../tools/fuzz/fuzz-runs.js';
import {
  FORMAT_VERSION,
  SEGMENT_HEADER_BYTES,
  decodeRecord,
  decodeSegmentHeader,
  emptyRecordHeader,
  encodeRecord,
  encodeSegmentHeader,
  recordSize,
} from './record-format.js';

const runs = fuzzRuns(1000);
const safe = fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: Number.MAX_SAFE_INTEGER }));

const record = fc
  .record({
    index: safe,
    generation: safe,
    type: fc.nat({ max: 0xffff }),
    payload: fc.uint8Array({ maxLength: 40 }),
    behind: fc.oneof(fc.nat({ max: 10 }), fc.constant(Number.POSITIVE_INFINITY)),
  })
  .map(({ index, generation, type, payload, behind }) => {
    const bytes = new Uint8Array(recordSize(payload.length));
    encodeRecord(
      bytes,
      new DataView(bytes.buffer),
      0,
      index,
      generation,
      type,
      payload,
      index - behind,
    );
    return bytes;
  });

const segmentHeader = fc
  .record({ firstIndex: safe, startedAt: fc.double() })
  .map(({ firstIndex, startedAt }) => {
    const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
    encodeSegmentHeader(bytes, new DataView(bytes.buffer), 0, firstIndex, startedAt);
    return bytes;
  });

describe('WAL record format under fuzzing', () => {
  it(
    'accepts a mutated or random record only when it is whole and canonical',
    () => {
      fc.assert(
        fc.property(fuzzedBytes(record), fc.nat({ max: 4 }), (bytes, slot) => {
          // At an 8-aligned offset inside a bigger buffer, as records sit in a segment.
          const lead = slot * 8;
          const buffer = new Uint8Array(lead + bytes.length);
          buffer.set(bytes, lead);
          const view = new DataView(buffer.buffer);
          const out = emptyRecordHeader();
          if (!decodeRecord(buffer, view, lead, buffer.length, out)) return;
          expect(out.end).toBeLessThanOrEqual(buffer.length);
          expect(out.end - lead).toBe(recordSize(out.payloadLength));
          expect(out.type).toBeLessThanOrEqual(0xffff);
          const payload = buffer.subarray(lead + 32, lead + 32 + out.payloadLength);
          const again = new Uint8Array(recordSize(payload.length));
          encodeRecord(
            again,
            new DataView(again.buffer),
            0,
            out.index,
            out.generation,
            out.type,
            payload,
            out.syncedIndex,
          );
          expect(again).toEqual(buffer.subarray(lead, out.end));
        }),
        { numRuns: runs },
      );
    },
    fuzzTimeoutMs(runs),
  );

  it(
    'decodes a mutated or random segment header to a reason or to a checked header',
    () => {
      fc.assert(
        fc.property(fuzzedBytes(segmentHeader), (bytes) => {
          const header = decodeSegmentHeader(bytes, new DataView(bytes.buffer), 0);
          if (typeof header === 'string') return;
          const view = new DataView(bytes.buffer);
          expect(view.getUint16(4, true)).toBe(FORMAT_VERSION);
          expect(Number.isInteger(header.firstIndex) && header.firstIndex >= 0).toBe(true);
        }),
        { numRuns: runs },
      );
    },
    fuzzTimeoutMs(runs),
  );

  it('refuses a record whose payload length is huge without reading past the buffer', () => {
    const bytes = new Uint8Array(recordSize(4));
    encodeRecord(bytes, new DataView(bytes.buffer), 0, 1, 1, 0, new Uint8Array(4), 0);
    for (const length of [0xffff_ffff, 0xffff_fff9, 0x7fff_ffff]) {
      const copy = bytes.slice();
      new DataView(copy.buffer).setUint32(4, length, true);
      expect(
        decodeRecord(copy, new DataView(copy.buffer), 0, copy.length, emptyRecordHeader()),
      ).toBe(false);
    }
  });
});
