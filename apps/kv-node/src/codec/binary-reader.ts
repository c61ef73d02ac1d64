import type { ByteString } from '../store/byte-string.js';

/** Thrown when bytes do not decode: truncated, a bad tag, or a number out of range. */
export class MalformedEncodingError extends Error {
  /** @param message what was wrong and where. */
  constructor(message: string) {
    super(message);
    this.name = 'MalformedEncodingError';
  }
}

/**
 * Thrown when bytes end before what they encode does: with more bytes (a later chunk of a
 * stream) the same read may succeed.
 */
export class TruncatedEncodingError extends MalformedEncodingError {
  /** Bytes from the start of the buffer that the failed read needs (at least). */
  readonly neededBytes: number;

  /**
   * @param message what was cut short and where.
   * @param neededBytes bytes from the start of the buffer the read needs.
   */
  constructor(message: string, neededBytes: number) {
    super(message);
    this.name = 'TruncatedEncodingError';
    this.neededBytes = neededBytes;
  }
}

/** Reads what {@link BinaryWriter} wrote, checking bounds. */
export class BinaryReader {
  readonly #buffer: Buffer;
  #offset = 0;

  /** @param bytes the encoding; not copied. */
  constructor(bytes: Uint8Array) {
    // A Buffer is used as it is: wrapping it again costs an allocation per reader, which shows
    // when a reader is made per LMDB value (the revision log read revision by revision).
    this.#buffer = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Whether every byte has been read. */
  get atEnd(): boolean {
    return this.#offset === this.#buffer.length;
  }

  /** Current offset in bytes. */
  get offset(): number {
    return this.#offset;
  }

  /** One byte. */
  readByte(): number {
    if (this.#offset >= this.#buffer.length) throw this.#truncated(this.#offset + 1);
    return this.#buffer[this.#offset++] as number;
  }

  /** An unsigned LEB128 varint up to 2^53. */
  readVarint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.readByte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 53) throw new MalformedEncodingError(`varint too long at ${this.#offset}`);
    }
    if (!Number.isSafeInteger(value)) {
      throw new MalformedEncodingError(`varint out of range at ${this.#offset}`);
    }
    return value;
  }

  /** A length-prefixed byte string. */
  readByteString(): ByteString {
    const length = this.readVarint();
    const start = this.#offset;
    return this.#buffer.toString('latin1', start, this.#take(length));
  }

  /**
   * A length-prefixed UTF-8 string.
   *
   * @param maxBytes longest length accepted, checked before the string is allocated.
   * @throws MalformedEncodingError when longer, or truncated.
   */
  readUtf8(maxBytes = Number.MAX_SAFE_INTEGER): string {
    const length = this.readVarint();
    if (length > maxBytes) {
      throw new MalformedEncodingError(
        `string of ${length} bytes over ${maxBytes} at ${this.#offset}`,
      );
    }
    const start = this.#offset;
    return this.#buffer.toString('utf8', start, this.#take(length));
  }

  /** Length-prefixed raw bytes, as a view (not a copy). */
  readBytes(): Uint8Array {
    const length = this.readVarint();
    const start = this.#offset;
    const end = this.#take(length);
    return this.#buffer.subarray(start, end);
  }

  /** Moves past `length` bytes and returns the offset after them. */
  #take(length: number): number {
    const end = this.#offset + length;
    if (end > this.#buffer.length) throw this.#truncated(end);
    this.#offset = end;
    return end;
  }

  #truncated(neededBytes: number): TruncatedEncodingError {
    return new TruncatedEncodingError(
      `truncated at byte ${this.#offset} of ${this.#buffer.length}`,
      neededBytes,
    );
  }
}
