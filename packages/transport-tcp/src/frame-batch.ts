import { FRAME_HEADER_BYTES, writeFrameHeader } from './frame.js';

/** Payloads at least this large are written by reference instead of being copied into the batch. */
export const LARGE_PAYLOAD_BYTES = 8 * 1024;

/** Batches are cut at about this size by their callers; a slab holds a few of them. */
const SLAB_BYTES = 256 * 1024;
const FRESH_SLAB_BELOW_BYTES = 80 * 1024;

/**
 * Coalesces many small frames into few large socket writes. Small frames are copied into a slab;
 * large payloads are passed by reference, so a 1 MiB message costs no copy. Bytes handed out by
 * {@link FrameBatch.take} are never written again: the slab moves on and a fresh one is allocated
 * when it is full, because the socket may still hold the old chunks.
 */
export class FrameBatch {
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private sealedUpTo = 0;
  private offset = 0;
  private chunks: Buffer[] = [];
  private batchBytes = 0;
  private batchFrames = 0;

  /** Bytes added since the last {@link FrameBatch.take}. */
  get bytes(): number {
    return this.batchBytes;
  }

  /** Frames added since the last {@link FrameBatch.take}. */
  get frames(): number {
    return this.batchFrames;
  }

  /** Appends one frame. */
  add(flags: number, type: number, correlation: number, payload: Uint8Array): void {
    const length = payload.byteLength;
    this.batchBytes += FRAME_HEADER_BYTES + length;
    this.batchFrames += 1;
    if (length >= LARGE_PAYLOAD_BYTES) {
      this.reserve(FRAME_HEADER_BYTES);
      writeFrameHeader(this.slab, this.offset, length, flags, type, correlation);
      this.offset += FRAME_HEADER_BYTES;
      this.seal();
      this.chunks.push(
        Buffer.isBuffer(payload)
          ? payload
          : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      );
      return;
    }
    this.reserve(FRAME_HEADER_BYTES + length);
    writeFrameHeader(this.slab, this.offset, length, flags, type, correlation);
    this.slab.set(payload, this.offset + FRAME_HEADER_BYTES);
    this.offset += FRAME_HEADER_BYTES + length;
  }

  /** Hands out the chunks to write, in order, and starts a new batch. */
  take(): Buffer[] {
    this.seal();
    // Start the next batch on a slab with room for a whole one, so it goes out as one chunk.
    if (this.slab.length - this.offset < FRESH_SLAB_BELOW_BYTES) this.startSlab(SLAB_BYTES);
    const chunks = this.chunks;
    this.chunks = [];
    this.batchBytes = 0;
    this.batchFrames = 0;
    return chunks;
  }

  private seal(): void {
    if (this.offset > this.sealedUpTo) {
      this.chunks.push(this.slab.subarray(this.sealedUpTo, this.offset));
      this.sealedUpTo = this.offset;
    }
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.slab.length) return;
    this.seal();
    this.startSlab(Math.max(SLAB_BYTES, bytes));
  }

  private startSlab(bytes: number): void {
    this.slab = Buffer.allocUnsafeSlow(bytes);
    this.sealedUpTo = 0;
    this.offset = 0;
  }
}
