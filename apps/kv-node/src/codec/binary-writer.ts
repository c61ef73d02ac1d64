import type { ByteString } from '../store/byte-string.js';

/**
 * Appends unsigned varints and length-prefixed byte strings to a growing buffer: the encoding of
 * commands, results and snapshots. Varints are LEB128 and handle every safe integer (up to 2^53).
 */
export class BinaryWriter {
  #buffer: Buffer;
  #length = 0;

  /** @param initialCapacity bytes to allocate up front; the buffer doubles when full. */
  constructor(initialCapacity = 64) {
    this.#buffer = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** One byte (0-255). */
  writeByte(value: number): void {
    this.#reserve(1);
    this.#buffer[this.#length++] = value;
  }

  /**
   * A non-negative safe integer as an unsigned LEB128 varint.
   * @throws RangeError for any other number: its encoding would not decode (a replicated command
   *   holding one would stop every member that applies it), so it is refused where it is written.
   */
  writeVarint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`cannot encode ${value} as a varint: not a non-negative safe integer`);
    }
    this.#reserve(8);
    let remaining = value;
    // Division rather than shifts: shifts truncate to 32 bits and revisions can exceed 2^32.
    while (remaining >= 0x80) {
      this.#buffer[this.#length++] = (remaining % 0x80) | 0x80;
      remaining = Math.floor(remaining / 0x80);
    }
    this.#buffer[this.#length++] = remaining;
  }

  /** A byte string prefixed by its length. */
  writeByteString(value: ByteString): void {
    this.writeVarint(value.length);
    this.#reserve(value.length);
    this.#length += this.#buffer.write(value, this.#length, 'latin1');
  }

  /** A UTF-8 string prefixed by its byte length. */
  writeUtf8(value: string): void {
    const byteLength = Buffer.byteLength(value, 'utf8');
    this.writeVarint(byteLength);
    this.#reserve(byteLength);
    this.#length += this.#buffer.write(value, this.#length, 'utf8');
  }

  /** Raw bytes, prefixed by their length. */
  writeBytes(value: Uint8Array): void {
    this.writeVarint(value.byteLength);
    this.#reserve(value.byteLength);
    this.#buffer.set(value, this.#length);
    this.#length += value.byteLength;
  }

  /**
   * Bytes already in this encoding (a record encoded earlier, read back from disk), as they are:
   * no length prefix.
   */
  writeEncoded(value: Uint8Array): void {
    this.#reserve(value.byteLength);
    this.#buffer.set(value, this.#length);
    this.#length += value.byteLength;
  }

  /** The bytes written, as a view of the internal buffer (do not write after taking it). */
  finish(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }

  /**
   * The bytes written, in a buffer of their own of exactly their size: for bytes kept long (a
   * log entry), which as a view would keep the whole internal buffer alive (for small writers a
   * slab of Node's shared buffer pool, 8 KiB).
   */
  finishExact(): Uint8Array {
    return Uint8Array.prototype.slice.call(this.#buffer, 0, this.#length);
  }

  #reserve(extra: number): void {
    const needed = this.#length + extra;
    if (needed <= this.#buffer.length) return;
    let capacity = this.#buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}
