// Structured fuzzing of every decoder that reads the peer network: handshake messages, the frame
// decoder and the record opener. Every input must give a typed error (ProtocolError and its
// subclasses) or a valid result: never another exception, never an allocation beyond the bounds.
// FUZZ_RUNS scales the runs per property (default 300 in CI; six properties), e.g. 1,200,000
// cases in all:
//   FUZZ_RUNS=200000 pnpm --filter @x/transport-tcp exec vitest run src/wire.fuzz.test.ts
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { FrameDecoder } from './frame-decoder.js';
import { FRAME_HEADER_BYTES, PROTOCOL_VERSION, writeFrameHeader } from './frame.js';
import {
  decodeChallenge,
  decodeHello,
  decodeProof,
  encodeChallenge,
  encodeHello,
  encodeProof,
  MAX_HANDSHAKE_PAYLOAD_BYTES,
} from './handshake.js';
import { RecordOpener } from './record-opener.js';
import { RecordSealer } from './record-sealer.js';
import { MAX_RECORD_BYTES } from './record.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
/** Per-test timeout, scaled with the runs (about 1 ms a case on a loaded machine). */
const TIMEOUT = Math.max(30_000, RUNS * 10);
const key = randomBytes(32);

/** Runs `decode`; anything but success or a ProtocolError fails the property. */
function typedOrValid(decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
  }
}

const id = fc.string({ maxLength: 40 });
const bytes = (length: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: length, maxLength: length });
const progress = fc.record({ knowsYou: fc.boolean(), lastSequence: fc.nat({ max: 0xffffffff }) });
const hello = fc.record({
  clusterId: id,
  dialerId: id,
  acceptorId: id,
  dialerNonce: bytes(32),
  dialerIncarnation: bytes(8),
});
const challenge = fc.record({
  acceptorId: id,
  acceptorNonce: bytes(32),
  acceptorIncarnation: bytes(8),
});
const proof = fc.record({
  proof: bytes(32),
  knowsYou: fc.boolean(),
  lastSequence: fc.nat({ max: 0xffffffff }),
});

/** A valid encoding with some bytes overwritten, some cut off or some appended. */
function mutated(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(
      valid,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat(),
      fc.uint8Array({ maxLength: 8 }),
    )
    .map(([encoded, edits, cut, tail]) => {
      const copy = Buffer.from(encoded);
      for (const [at, value] of edits) if (copy.length > 0) copy[at % copy.length] = value;
      return Buffer.concat([copy.subarray(0, copy.length - (cut % (copy.length + 1))), tail]);
    });
}

describe('handshake decoders', () => {
  it(
    'a valid message round-trips',
    () => {
      fc.assert(
        fc.property(hello, challenge, proof, (h, c, p) => {
          expect(decodeHello(encodeHello(h))).toEqual(h);
          expect(decodeChallenge(encodeChallenge(c))).toEqual(c);
          expect(decodeProof(encodeProof(p))).toEqual(p);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    'random and mutated input gives a result or a ProtocolError',
    () => {
      const input = fc.oneof(
        fc
          .uint8Array({ maxLength: MAX_HANDSHAKE_PAYLOAD_BYTES })
          .map((array) => Buffer.from(array)),
        mutated(hello.map(encodeHello)),
        mutated(challenge.map(encodeChallenge)),
        mutated(proof.map(encodeProof)),
      );
      fc.assert(
        fc.property(input, (payload) => {
          typedOrValid(() => decodeHello(payload));
          typedOrValid(() => decodeChallenge(payload));
          typedOrValid(() => decodeProof(payload));
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    'progress survives encoding whatever its value',
    () => {
      fc.assert(
        fc.property(bytes(32), progress, (p, g) => {
          expect(decodeProof(encodeProof({ proof: p, ...g }))).toEqual({ proof: p, ...g });
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});

describe('frame decoder', () => {
  it(
    'any byte stream gives frames within the bound or a ProtocolError',
    () => {
      const maxPayload = 4096;
      const frame = fc
        .tuple(
          fc.integer({ min: 0, max: 255 }),
          fc.nat({ max: 0xffff }),
          fc.uint8Array({ maxLength: 600 }),
        )
        .map(([flags, type, payload]) => {
          const encoded = Buffer.alloc(FRAME_HEADER_BYTES + payload.length);
          writeFrameHeader(encoded, 0, payload.length, flags, type, 0);
          encoded.set(payload, FRAME_HEADER_BYTES);
          return encoded;
        });
      const stream = fc.array(fc.oneof(frame, mutated(frame)), { maxLength: 6 });
      fc.assert(
        fc.property(stream, fc.array(fc.nat(), { maxLength: 6 }), (pieces, cuts) => {
          const all = Buffer.concat(pieces);
          const decoder = new FrameDecoder(maxPayload, (_flags, _type, _correlation, payload) => {
            expect(payload.length).toBeLessThanOrEqual(maxPayload);
          });
          typedOrValid(() => {
            let from = 0;
            for (const point of [
              ...cuts.map((cut) => cut % (all.length + 1)).sort((a, b) => a - b),
              all.length,
            ]) {
              decoder.push(all.subarray(from, point));
              from = point;
            }
          });
          // What it holds is bounded by what was sent, never by what a header claimed.
          expect(decoder.bufferedBytes).toBeLessThanOrEqual(all.length);
          expect(PROTOCOL_VERSION).toBe(2);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});

describe('record opener', () => {
  it(
    'any altered sealed stream delivers only an untouched prefix of records, or errs typed',
    () => {
      const input = fc.tuple(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 40 }),
      );
      fc.assert(
        fc.property(input, ([parts, edits, cut, tail]) => {
          const sealer = new RecordSealer(key);
          const records = parts.map((part) => Buffer.concat(sealer.seal([part])));
          const original = Buffer.concat(records);
          const stream = Buffer.from(original);
          for (const [at, flip] of edits) stream[at % stream.length]! ^= flip;
          const altered = Buffer.concat([
            stream.subarray(0, stream.length - (cut % (stream.length + 1))),
            tail,
          ]);
          const delivered: Buffer[] = [];
          const opener = new RecordOpener(key, (plaintext) => delivered.push(plaintext));
          typedOrValid(() => opener.push(altered));
          // Every delivered byte is from records that arrived byte for byte as sealed.
          let same = 0;
          while (
            same < altered.length &&
            same < original.length &&
            altered[same] === original[same]
          ) {
            same += 1;
          }
          let intact = 0;
          let offset = 0;
          for (const [index, record] of records.entries()) {
            if (offset + record.length > same) break;
            intact += parts[index]!.length;
            offset += record.length;
          }
          const got = Buffer.concat(delivered);
          expect(got.length).toBe(intact);
          expect(got.equals(Buffer.concat(parts).subarray(0, got.length))).toBe(true);
          expect(opener.bufferedBytes).toBeLessThanOrEqual(MAX_RECORD_BYTES + 4 + 16);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    'random bytes never deliver anything',
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2000 }), (noise) => {
          const opener = new RecordOpener(key, () => expect.unreachable('noise was delivered'));
          typedOrValid(() => opener.push(Buffer.from(noise)));
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});
