import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntegrityError, ProtocolError } from './errors.js';
import { RecordOpener } from './record-opener.js';
import { CONTIGUOUS_RECORD_BYTES, RecordSealer } from './record-sealer.js';
import {
  MAX_RECORD_BYTES,
  RECORD_HEADER_BYTES,
  RECORD_TAG_BYTES,
  recordNonce,
  writeRecordNonce,
} from './record.js';

const key = randomBytes(32);

/** Seals each message as its own record and returns each record's bytes. */
function sealEach(messages: Buffer[], sealKey: Uint8Array = key): Buffer[] {
  const sealer = new RecordSealer(sealKey);
  return messages.map((message) => Buffer.concat(sealer.seal([message])));
}

/** Opens `stream` in one push; returns what was delivered and the error thrown, if any. */
function open(stream: Buffer, openKey: Uint8Array = key): { delivered: Buffer; error: unknown } {
  const delivered: Buffer[] = [];
  const opener = new RecordOpener(openKey, (plaintext) => delivered.push(plaintext));
  let error: unknown;
  try {
    opener.push(stream);
  } catch (caught) {
    error = caught;
  }
  return { delivered: Buffer.concat(delivered), error };
}

const messages = [Buffer.from('first record'), Buffer.from('second record'), Buffer.from('third')];

describe('sealed records', () => {
  it('round-trip, and the ciphertext does not contain the plaintext', () => {
    const records = sealEach(messages);
    expect(records[0]!.includes(Buffer.from('first'))).toBe(false);
    expect(records[0]).toHaveLength(RECORD_HEADER_BYTES + 12 + RECORD_TAG_BYTES);
    const { delivered, error } = open(Buffer.concat(records));
    expect(error).toBeUndefined();
    expect(delivered.toString()).toBe('first recordsecond recordthird');
  });

  it('deliver the same bytes however the stream is split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (parts, cuts) => {
          const sealer = new RecordSealer(key);
          const stream = Buffer.concat(parts.map((part) => Buffer.concat(sealer.seal([part]))));
          const delivered: Buffer[] = [];
          const opener = new RecordOpener(key, (plaintext) => delivered.push(plaintext));
          const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort(
            (a, b) => a - b,
          );
          let from = 0;
          for (const point of [...points, stream.length]) {
            opener.push(stream.subarray(from, point));
            from = point;
          }
          expect(Buffer.concat(delivered).equals(Buffer.concat(parts))).toBe(true);
          expect(opener.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('split runs longer than the record bound into several records', () => {
    const big = randomBytes(MAX_RECORD_BYTES * 2 + 5);
    const sealer = new RecordSealer(key);
    const out = sealer.seal([big.subarray(0, 10), big.subarray(10)]);
    expect(sealer.sealedRecords).toBe(3);
    const { delivered, error } = open(Buffer.concat(out));
    expect(error).toBeUndefined();
    expect(delivered.equals(big)).toBe(true);
  });

  it('sealEach hands out each record as soon as it is sealed, each one opening on its own', () => {
    const big = randomBytes(MAX_RECORD_BYTES * 2 + 5);
    const sealer = new RecordSealer(key);
    const records: Buffer[] = [];
    const opened: Buffer[] = [];
    const opener = new RecordOpener(key, (plaintext) => opened.push(plaintext));
    sealer.sealEach([big.subarray(0, 10), big.subarray(10)], (record) => {
      // The peer can open this record before the next one is sealed.
      const bytes = Buffer.concat(record);
      records.push(bytes);
      const before = Buffer.concat(opened).length;
      opener.push(bytes);
      expect(Buffer.concat(opened).length - before).toBe(
        bytes.length - RECORD_HEADER_BYTES - RECORD_TAG_BYTES,
      );
    });
    expect(records.length).toBe(3);
    expect(Buffer.concat(opened).equals(big)).toBe(true);
  });

  it('a record of up to the contiguous bound comes out as one buffer, a larger one as pieces', () => {
    // Sizes around the bound, each split into several input chunks (as a batch of slab chunks and
    // by-reference payloads arrives), so the ciphertext of every chunk lands in the one buffer.
    for (const size of [1, 100, CONTIGUOUS_RECORD_BYTES - 1, CONTIGUOUS_RECORD_BYTES]) {
      const plain = randomBytes(size);
      const chunks = [plain.subarray(0, size >> 1), plain.subarray(size >> 1)];
      const records: (readonly Buffer[])[] = [];
      new RecordSealer(key).sealEach(chunks, (record) => records.push(record));
      expect(records).toHaveLength(1);
      expect(records[0]).toHaveLength(1);
      const bytes = records[0]![0]!;
      expect(bytes.length).toBe(RECORD_HEADER_BYTES + size + RECORD_TAG_BYTES);
      expect(bytes.readUInt32BE(0)).toBe(size);
      const { delivered, error } = open(bytes);
      expect(error).toBeUndefined();
      expect(delivered.equals(plain)).toBe(true);
    }
    const large = randomBytes(CONTIGUOUS_RECORD_BYTES + 1);
    const pieces: (readonly Buffer[])[] = [];
    new RecordSealer(key).sealEach([large], (record) => pieces.push(record));
    expect(pieces).toHaveLength(1);
    expect(pieces[0]!.length).toBeGreaterThan(1);
    const { delivered, error } = open(Buffer.concat(pieces[0]!));
    expect(error).toBeUndefined();
    expect(delivered.equals(large)).toBe(true);
  });

  it('an empty run seals no record', () => {
    const sealer = new RecordSealer(key);
    expect(sealer.seal([Buffer.alloc(0)])).toEqual([]);
    expect(sealer.seal([])).toEqual([]);
    expect(sealer.sealedRecords).toBe(0);
  });

  it('a reused nonce buffer holds the same nonce as a fresh one, high bits included', () => {
    const reused = Buffer.alloc(12, 0xff);
    for (const sequence of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 40 - 1]) {
      writeRecordNonce(reused, sequence);
      expect(reused.equals(recordNonce(sequence))).toBe(true);
    }
  });

  it('a flipped bit anywhere in a record delivers nothing of it and throws IntegrityError', () => {
    const [first, second] = sealEach(messages) as [Buffer, Buffer];
    for (let index = 0; index < second.length; index += 1) {
      for (const bit of [0x01, 0x80]) {
        const altered = Buffer.from(second);
        altered[index]! ^= bit;
        const { delivered, error } = open(Buffer.concat([first, altered]));
        // Only the untouched first record is delivered. A header rewritten to claim more waits
        // for bytes that never come (the connection's timeout or close ends it) or, past the
        // bound, is refused from the header; anything else fails its tag.
        expect(delivered.toString()).toBe('first record');
        if (index >= RECORD_HEADER_BYTES) expect(error).toBeInstanceOf(IntegrityError);
        else if (error !== undefined) expect(error).toBeInstanceOf(ProtocolError);
      }
    }
  });

  it('a replayed record is refused', () => {
    const [first, second] = sealEach(messages) as [Buffer, Buffer];
    const { delivered, error } = open(Buffer.concat([first, second, second]));
    expect(delivered.toString()).toBe('first recordsecond record');
    expect(error).toBeInstanceOf(IntegrityError);
  });

  it('reordered records are refused', () => {
    const [first, second, third] = sealEach(messages) as [Buffer, Buffer, Buffer];
    const { delivered, error } = open(Buffer.concat([first, third, second]));
    expect(delivered.toString()).toBe('first record');
    expect(error).toBeInstanceOf(IntegrityError);
  });

  it('a dropped record is detected at the next one (dropped then resumed)', () => {
    const [first, , third] = sealEach(messages) as [Buffer, Buffer, Buffer];
    const { delivered, error } = open(Buffer.concat([first, third]));
    expect(delivered.toString()).toBe('first record');
    expect(error).toBeInstanceOf(IntegrityError);
  });

  it('a truncated record (length rewritten shorter, tag cut off) delivers nothing', () => {
    const [first] = sealEach(messages) as [Buffer];
    const shortened = Buffer.from(first);
    shortened.writeUInt32BE(5, 0);
    const { delivered, error } = open(shortened.subarray(0, RECORD_HEADER_BYTES + 5 + 16));
    expect(delivered).toHaveLength(0);
    expect(error).toBeInstanceOf(IntegrityError);

    const opener = new RecordOpener(key, () => expect.unreachable('delivered a partial record'));
    opener.push(first.subarray(0, first.length - 1));
    expect(opener.bufferedBytes).toBe(first.length - 1);
  });

  it('records sealed with another key (another connection or direction) are refused', () => {
    const records = sealEach(messages, randomBytes(32));
    const { delivered, error } = open(Buffer.concat(records));
    expect(delivered).toHaveLength(0);
    expect(error).toBeInstanceOf(IntegrityError);
  });

  it('a header claiming more than the bound is refused before allocation', () => {
    const claim = Buffer.alloc(RECORD_HEADER_BYTES);
    claim.writeUInt32BE(0xffffffff, 0);
    const { error } = open(claim);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe('RECORD_TOO_LARGE');
  });
});
