import { createDecipheriv, createSecretKey, type DecipherGCM, type KeyObject } from 'node:crypto';
import { IntegrityError, ProtocolError } from './errors.js';
import {
  MAX_RECORD_BYTES,
  RECORD_CIPHER,
  RECORD_HEADER_BYTES,
  RECORD_NONCE_BYTES,
  RECORD_TAG_BYTES,
  writeRecordNonce,
} from './record.js';

/** Receives the plaintext of an authenticated record, in order; the receiver owns the bytes. */
export type PlaintextHandler = (plaintext: Buffer) => void;

/**
 * Opens the inbound records of one connection direction (see `record.ts`) from a stream of byte
 * chunks. Ciphertext is decrypted as it arrives, but a record's plaintext is handed out only once
 * its tag has been verified: an altered, replayed, reordered or truncated record delivers nothing
 * and throws {@link IntegrityError}. A header claiming more than {@link MAX_RECORD_BYTES} is
 * refused before anything is allocated; memory held is what the peer actually sent.
 */
export class RecordOpener {
  private sequence = 0;
  private stopped = false;
  private readonly header = Buffer.alloc(RECORD_HEADER_BYTES);
  private headerFilled = 0;
  private readonly tag = Buffer.alloc(RECORD_TAG_BYTES);
  /** Rewritten for every record; the decipher copies the nonce when it is created. */
  private readonly nonce = Buffer.alloc(RECORD_NONCE_BYTES);
  /** The key as a native key object: each record's decipher then skips importing its bytes. */
  private readonly key: KeyObject;
  private tagFilled = 0;
  /** Ciphertext bytes of the current record still to come; -1 while reading a header. */
  private bodyRemaining = -1;
  private decipher: DecipherGCM | undefined;
  private plaintext: Buffer[] = [];
  private pendingBytes = 0;

  /**
   * @param key - the peer's direction's 32-byte AES-256-GCM key
   * @param onPlaintext - called synchronously with each authenticated record's plaintext
   */
  constructor(
    key: Uint8Array,
    private readonly onPlaintext: PlaintextHandler,
  ) {
    this.key = createSecretKey(key);
  }

  /** Records authenticated so far. */
  get openedRecords(): number {
    return this.sequence;
  }

  /** Bytes received for the record not yet complete (unauthenticated; never delivered). */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** Stops: later chunks, and the rest of the current one, are ignored. */
  stop(): void {
    this.stopped = true;
    this.plaintext = [];
    this.pendingBytes = 0;
    this.decipher = undefined;
  }

  /**
   * Feeds the next chunk of the stream.
   *
   * @throws {@link IntegrityError} when a record fails authentication
   * @throws {@link ProtocolError} (code `RECORD_TOO_LARGE`) when a header claims too much
   */
  push(chunk: Buffer): void {
    let offset = 0;
    const length = chunk.length;
    while (offset < length && !this.stopped) {
      if (this.bodyRemaining < 0) {
        const take = Math.min(RECORD_HEADER_BYTES - this.headerFilled, length - offset);
        chunk.copy(this.header, this.headerFilled, offset, offset + take);
        this.headerFilled += take;
        this.pendingBytes += take;
        offset += take;
        if (this.headerFilled === RECORD_HEADER_BYTES) this.startRecord();
      } else if (this.bodyRemaining > 0) {
        const take = Math.min(this.bodyRemaining, length - offset);
        const piece = this.decipher!.update(chunk.subarray(offset, offset + take));
        if (piece.length > 0) this.plaintext.push(piece);
        this.bodyRemaining -= take;
        this.pendingBytes += take;
        offset += take;
      } else {
        const take = Math.min(RECORD_TAG_BYTES - this.tagFilled, length - offset);
        chunk.copy(this.tag, this.tagFilled, offset, offset + take);
        this.tagFilled += take;
        this.pendingBytes += take;
        offset += take;
        if (this.tagFilled === RECORD_TAG_BYTES) this.finishRecord();
      }
    }
  }

  private startRecord(): void {
    const bytes = this.header.readUInt32BE(0);
    if (bytes > MAX_RECORD_BYTES) {
      throw new ProtocolError(
        `record ${this.sequence} claims ${bytes} bytes; the maximum is ${MAX_RECORD_BYTES}`,
        'RECORD_TOO_LARGE',
      );
    }
    writeRecordNonce(this.nonce, this.sequence);
    const decipher = createDecipheriv(RECORD_CIPHER, this.key, this.nonce, {
      authTagLength: RECORD_TAG_BYTES,
    });
    decipher.setAAD(this.header);
    this.decipher = decipher;
    this.bodyRemaining = bytes;
  }

  private finishRecord(): void {
    const decipher = this.decipher!;
    const sequence = this.sequence;
    decipher.setAuthTag(this.tag);
    try {
      const last = decipher.final();
      if (last.length > 0) this.plaintext.push(last);
    } catch {
      this.stop();
      throw new IntegrityError(
        `record ${sequence} failed authentication (altered, replayed, reordered, truncated or sealed with another key)`,
      );
    }
    const plaintext = this.plaintext;
    this.plaintext = [];
    this.decipher = undefined;
    this.sequence += 1;
    this.headerFilled = 0;
    this.tagFilled = 0;
    this.bodyRemaining = -1;
    this.pendingBytes = 0;
    for (const piece of plaintext) {
      if (this.stopped) return;
      this.onPlaintext(piece);
    }
  }
}
