/**
 * gRPC's length-prefixed messages (a compressed flag, a 32-bit big-endian length, the bytes) read
 * out of a request's DATA chunks, whatever their cut. A length past the limit is refused from the
 * prefix alone, before any of its bytes are held.
 */

/** One request message as it came: possibly compressed. */
export interface RawMessage {
  compressed: boolean;
  bytes: Buffer;
}

/** A message announced larger than the limit: the call ends with RESOURCE_EXHAUSTED. */
export class MessageTooLargeError extends Error {}

const PREFIX_BYTES = 5;

/** Cuts a request's byte stream into messages of at most `maxBytes` each. */
export class MessageReader {
  readonly #maxBytes: number;
  /** Bytes of a prefix or message not yet whole. */
  #held: Buffer | undefined;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /**
   * The messages `chunk` completes, in order.
   *
   * @throws MessageTooLargeError when a prefix announces more than the limit.
   */
  read(chunk: Buffer): RawMessage[] {
    let bytes = this.#held === undefined ? chunk : Buffer.concat([this.#held, chunk]);
    this.#held = undefined;
    const messages: RawMessage[] = [];
    while (bytes.length >= PREFIX_BYTES) {
      const length = bytes.readUInt32BE(1);
      if (length > this.#maxBytes) {
        throw new MessageTooLargeError(
          `Received message larger than max (${length} vs ${this.#maxBytes})`,
        );
      }
      if (bytes.length < PREFIX_BYTES + length) break;
      messages.push({
        compressed: bytes[0] === 1,
        bytes: bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + length),
      });
      bytes = bytes.subarray(PREFIX_BYTES + length);
    }
    // A copy, so that a held tail does not keep a large chunk alive.
    if (bytes.length > 0) this.#held = Buffer.from(bytes);
    return messages;
  }
}

/** `message` with its prefix (never compressed), ready for a DATA frame. */
export function framedMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, PREFIX_BYTES);
  return framed;
}
