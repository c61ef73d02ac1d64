import { FrameTooLargeError, ProtocolError } from './errors.js';
import { FRAME_HEADER_BYTES, PROTOCOL_VERSION } from './frame.js';

/** Receives each decoded frame. `payload` is owned by the receiver: its bytes are never reused. */
export type FrameHandler = (
  flags: number,
  type: number,
  correlation: number,
  payload: Buffer,
) => void;

/**
 * Turns a stream of byte chunks into frames without per-byte copies.
 *
 * Whole frames inside a chunk are handed out as views of that chunk (socket read buffers are
 * freshly allocated per read and never reused, so the view is safe to keep). Only a frame split
 * across chunks is copied once into a buffer of exactly its size, and only after its header has
 * been validated, so a peer claiming 4 GiB costs nothing: the claim is rejected from the header.
 * Memory held for a partial frame is what the peer actually sent, never what it claimed.
 */
export class FrameDecoder {
  private readonly partial: Buffer[] = [];
  private partialBytes = 0;
  private stopped = false;
  /** Set by {@link FrameDecoder.handOff}: bytes after the current frame are kept, not dropped. */
  private handingOff = false;
  private remainder: Buffer[] = [];

  /**
   * @param maxPayloadBytes - the largest payload accepted; larger claims throw {@link FrameTooLargeError}
   * @param onFrame - called synchronously for each frame, in order
   */
  constructor(
    private maxPayloadBytes: number,
    private readonly onFrame: FrameHandler,
  ) {}

  /** Changes the payload limit, e.g. from the small handshake limit to the configured one. */
  setMaxPayloadBytes(maxPayloadBytes: number): void {
    this.maxPayloadBytes = maxPayloadBytes;
  }

  /** Stops decoding: later chunks, and the rest of the current one, are ignored. */
  stop(): void {
    this.stopped = true;
    this.partial.length = 0;
    this.partialBytes = 0;
  }

  /**
   * Stops after the frame being handled (call it from the frame handler) and keeps every byte
   * after that frame for {@link FrameDecoder.takeRemainder}: the bytes that follow the handshake
   * belong to another layer.
   */
  handOff(): void {
    this.stopped = true;
    this.handingOff = true;
  }

  /** The bytes that followed the frame during which {@link FrameDecoder.handOff} was called. */
  takeRemainder(): Buffer[] {
    const remainder = this.remainder;
    this.remainder = [];
    return remainder;
  }

  /** Bytes held for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.partialBytes;
  }

  /**
   * Feeds the next chunk of the stream.
   *
   * @throws {@link FrameTooLargeError} when a header claims more than the maximum
   * @throws {@link ProtocolError} when a header carries an unknown protocol version
   */
  push(chunk: Buffer): void {
    if (this.stopped) return;
    let rest: Buffer | undefined = chunk;
    if (this.partialBytes > 0) {
      rest = this.completePartial(chunk);
      if (rest === undefined) return;
    }
    this.decodeWhole(rest);
  }

  private decodeWhole(chunk: Buffer): void {
    const length = chunk.length;
    let offset = 0;
    while (length - offset >= FRAME_HEADER_BYTES) {
      const payloadLength = this.checkHeader(chunk, offset);
      const end = offset + FRAME_HEADER_BYTES + payloadLength;
      if (end > length) break;
      this.onFrame(
        chunk[offset + 5]!,
        chunk.readUInt16BE(offset + 6),
        chunk.readUInt32BE(offset + 8),
        chunk.subarray(offset + FRAME_HEADER_BYTES, end),
      );
      if (this.stopped) {
        if (this.handingOff && end < length) this.remainder.push(chunk.subarray(end));
        return;
      }
      offset = end;
    }
    if (offset < length) {
      this.partial.push(offset === 0 ? chunk : chunk.subarray(offset));
      this.partialBytes = length - offset;
    }
  }

  /** Adds `chunk` to the partial frame; returns the bytes after the frame once it is complete. */
  private completePartial(chunk: Buffer): Buffer | undefined {
    this.partial.push(chunk);
    this.partialBytes += chunk.length;
    if (this.partialBytes < FRAME_HEADER_BYTES) return undefined;
    const header = this.gather(FRAME_HEADER_BYTES);
    const payloadLength = this.checkHeader(header, 0);
    const frameBytes = FRAME_HEADER_BYTES + payloadLength;
    if (this.partialBytes < frameBytes) return undefined;

    // One copy, into a buffer of exactly the payload's size that nobody else writes to. Only the
    // last piece can extend past the frame: before it arrived the frame was incomplete.
    const payload = Buffer.allocUnsafe(payloadLength);
    let skip = FRAME_HEADER_BYTES;
    let written = 0;
    let rest: Buffer | undefined;
    for (const piece of this.partial) {
      const start = Math.min(skip, piece.length);
      skip -= start;
      if (start === piece.length) continue;
      const take = Math.min(piece.length - start, payloadLength - written);
      piece.copy(payload, written, start, start + take);
      written += take;
      if (start + take < piece.length) rest = piece.subarray(start + take);
    }
    this.partial.length = 0;
    this.partialBytes = 0;
    this.onFrame(header[5]!, header.readUInt16BE(6), header.readUInt32BE(8), payload);
    if (this.stopped) {
      if (this.handingOff && rest !== undefined) this.remainder.push(rest);
      return undefined;
    }
    return rest;
  }

  /** The first `count` bytes of the partial frame, contiguous. */
  private gather(count: number): Buffer {
    const first = this.partial[0]!;
    if (first.length >= count) return first;
    const gathered = Buffer.allocUnsafe(count);
    let filled = 0;
    for (const piece of this.partial) {
      filled += piece.copy(gathered, filled, 0, Math.min(piece.length, count - filled));
      if (filled === count) break;
    }
    return gathered;
  }

  private checkHeader(source: Buffer, offset: number): number {
    const payloadLength = source.readUInt32BE(offset);
    if (payloadLength > this.maxPayloadBytes) {
      throw new FrameTooLargeError(payloadLength, this.maxPayloadBytes);
    }
    const version = source[offset + 4];
    if (version !== PROTOCOL_VERSION) {
      throw new ProtocolError(`unsupported protocol version ${version}`, 'UNSUPPORTED_VERSION');
    }
    return payloadLength;
  }
}
