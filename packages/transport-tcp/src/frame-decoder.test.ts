import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameTooLargeError, ProtocolError } from './errors.js';
import { FrameDecoder } from './frame-decoder.js';
import { FrameBatch } from './frame-batch.js';

interface Frame {
  flags: number;
  type: number;
  correlation: number;
  payload: Uint8Array;
}

const frameArbitrary = fc.record({
  flags: fc.integer({ min: 0, max: 15 }),
  type: fc.integer({ min: 0, max: 0xffff }),
  correlation: fc.integer({ min: 0, max: 0xffffffff }),
  payload: fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ minLength: 8 * 1024, maxLength: 9 * 1024 }), // passed by reference in a batch
  ),
});

function encode(frames: Frame[]): Buffer {
  const batch = new FrameBatch();
  for (const frame of frames) batch.add(frame.flags, frame.type, frame.correlation, frame.payload);
  return Buffer.concat(batch.take());
}

function decodeAll(chunks: Buffer[], max = 1 << 20): Frame[] {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder(max, (flags, type, correlation, payload) =>
    frames.push({ flags, type, correlation, payload }),
  );
  for (const chunk of chunks) decoder.push(chunk);
  if (decoder.bufferedBytes !== 0) throw new Error('bytes left over');
  return frames;
}

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((x, y) => x - y);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

describe('FrameDecoder', () => {
  it('decodes any sequence of frames however the stream is split (200 cases)', () => {
    fc.assert(
      fc.property(
        fc.array(frameArbitrary, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (frames, cuts) => {
          const decoded = decodeAll(split(encode(frames), cuts));
          return (
            decoded.length === frames.length &&
            decoded.every((frame, index) => {
              const sent = frames[index]!;
              return (
                frame.flags === sent.flags &&
                frame.type === sent.type &&
                frame.correlation === sent.correlation &&
                Buffer.compare(frame.payload, sent.payload) === 0
              );
            })
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects a length claim over the maximum from the header alone', () => {
    const decoder = new FrameDecoder(1024, () => {});
    const header = Buffer.alloc(12);
    header.writeUInt32BE(0xffffffff, 0);
    header[4] = 1;
    expect(() => decoder.push(header.subarray(0, 7))).not.toThrow();
    expect(() => decoder.push(header.subarray(7))).toThrow(FrameTooLargeError);
  });

  it('rejects an unknown protocol version', () => {
    const frame = encode([{ flags: 0, type: 1, correlation: 0, payload: new Uint8Array(3) }]);
    frame[4] = 9;
    expect(() => new FrameDecoder(1024, () => {}).push(frame)).toThrow(ProtocolError);
  });

  it('hands out payloads that later chunks never overwrite', () => {
    const payloads: Uint8Array[] = [];
    const decoder = new FrameDecoder(1024, (_flags, _type, _correlation, payload) =>
      payloads.push(payload),
    );
    const first = encode([{ flags: 0, type: 1, correlation: 1, payload: Buffer.from('first') }]);
    const second = encode([{ flags: 0, type: 1, correlation: 2, payload: Buffer.from('second') }]);
    decoder.push(first.subarray(0, 14));
    decoder.push(Buffer.concat([first.subarray(14), second]));
    expect(payloads.map((payload) => Buffer.from(payload).toString())).toEqual(['first', 'second']);
  });

  it('stops decoding the rest of a chunk once stopped from a handler', () => {
    const seen: number[] = [];
    const decoder: FrameDecoder = new FrameDecoder(1024, (_flags, _type, correlation) => {
      seen.push(correlation);
      decoder.stop();
    });
    const frames = [1, 2, 3].map((correlation) => ({
      flags: 0,
      type: 0,
      correlation,
      payload: new Uint8Array(1),
    }));
    decoder.push(encode(frames));
    expect(seen).toEqual([1]);
  });
});
