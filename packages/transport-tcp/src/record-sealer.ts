import { createCipheriv, createSecretKey, type CipherGCM, type KeyObject } from 'node:crypto';
import { ProtocolError } from './errors.js';
import {
  MAX_RECORD_BYTES,
  MAX_RECORDS_PER_KEY,
  RECORD_CIPHER,
  RECORD_HEADER_BYTES,
  RECORD_NONCE_BYTES,
  RECORD_TAG_BYTES,
  writeRecordNonce,
} from './record.js';

/**
 * Records up to this many plaintext bytes are sealed into one contiguous buffer (header,
 * ciphertext and tag), so the connection hands the socket one buffer and the kernel one plain
 * `write`: copying a few KiB of ciphertext costs far less than a corked gather of three pieces.
 * Larger records are handed out as pieces, so big payloads are not copied again.
 */
export const CONTIGUOUS_RECORD_BYTES = 16 * 1024;

/**
 * Seals the outbound byte stream of one connection direction into records (see `record.ts`).
 * Each call seals what one socket write carries, so the cost of a cipher per record is shared by
 * every frame of the batch; runs longer than {@link MAX_RECORD_BYTES} are split. A record of up
 * to {@link CONTIGUOUS_RECORD_BYTES} comes out as a single buffer.
 */
export class RecordSealer {
  private sequence = 0;
  /** Rewritten for every record; the cipher copies the nonce when it is created. */
  private readonly nonce = Buffer.alloc(RECORD_NONCE_BYTES);

  /** The key as a native key object: each record's cipher then skips importing its bytes. */
  private readonly key: KeyObject;

  /** @param key - this direction's 32-byte AES-256-GCM key */
  constructor(key: Uint8Array) {
    this.key = createSecretKey(key);
  }

  /** Records sealed so far. */
  get sealedRecords(): number {
    return this.sequence;
  }

  /**
   * Seals `chunks` (in order, as one run of bytes) and returns the bytes to write, in order.
   *
   * @throws {@link ProtocolError} (code `KEY_EXHAUSTED`) after {@link MAX_RECORDS_PER_KEY} records:
   *   the connection must be replaced
   */
  seal(chunks: readonly Uint8Array[]): Buffer[] {
    const out: Buffer[] = [];
    this.sealEach(chunks, (record) => out.push(...record));
    return out;
  }

  /**
   * Seals `chunks` (in order, as one run of bytes) and hands each record's bytes to `emit` as
   * soon as that record is sealed: one buffer for a record of up to
   * {@link CONTIGUOUS_RECORD_BYTES}, else its pieces in order. A caller that writes each record at
   * once lets the peer open one record while this side seals the next: sealing a whole batch
   * before writing any of it would leave the two ends taking turns.
   *
   * @throws {@link ProtocolError} (code `KEY_EXHAUSTED`) after {@link MAX_RECORDS_PER_KEY} records:
   *   the connection must be replaced
   */
  sealEach(chunks: readonly Uint8Array[], emit: (record: readonly Buffer[]) => void): void {
    // The usual case, a batch of small frames in one slab chunk: no piece list to build.
    if (chunks.length === 1 && chunks[0]!.byteLength <= MAX_RECORD_BYTES) {
      const only = chunks[0]!;
      if (only.byteLength > 0) emit(this.sealRecord(chunks, only.byteLength));
      return;
    }
    let record: Uint8Array[] = [];
    let recordBytes = 0;
    for (const chunk of chunks) {
      let offset = 0;
      while (offset < chunk.byteLength) {
        const take = Math.min(chunk.byteLength - offset, MAX_RECORD_BYTES - recordBytes);
        record.push(
          offset === 0 && take === chunk.byteLength ? chunk : chunk.subarray(offset, offset + take),
        );
        recordBytes += take;
        offset += take;
        if (recordBytes === MAX_RECORD_BYTES) {
          emit(this.sealRecord(record, recordBytes));
          record = [];
          recordBytes = 0;
        }
      }
    }
    if (recordBytes > 0) emit(this.sealRecord(record, recordBytes));
  }

  private sealRecord(pieces: readonly Uint8Array[], bytes: number): Buffer[] {
    if (this.sequence >= MAX_RECORDS_PER_KEY) {
      throw new ProtocolError(
        `${MAX_RECORDS_PER_KEY} records sealed under one key; reconnect for fresh keys`,
        'KEY_EXHAUSTED',
      );
    }
    writeRecordNonce(this.nonce, this.sequence);
    const cipher = createCipheriv(RECORD_CIPHER, this.key, this.nonce, {
      authTagLength: RECORD_TAG_BYTES,
    });
    this.sequence += 1;
    if (bytes <= CONTIGUOUS_RECORD_BYTES) {
      return [sealContiguous(cipher, pieces, bytes)];
    }
    const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    header.writeUInt32BE(bytes, 0);
    cipher.setAAD(header);
    const out = [header];
    for (const piece of pieces) out.push(cipher.update(piece));
    const last = cipher.final();
    if (last.length > 0) out.push(last);
    out.push(cipher.getAuthTag());
    return out;
  }
}

/** Seals `pieces` (`bytes` in all) into one buffer: header, ciphertext, tag. */
function sealContiguous(cipher: CipherGCM, pieces: readonly Uint8Array[], bytes: number): Buffer {
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + bytes + RECORD_TAG_BYTES);
  record.writeUInt32BE(bytes, 0);
  cipher.setAAD(record.subarray(0, RECORD_HEADER_BYTES));
  let offset = RECORD_HEADER_BYTES;
  for (const piece of pieces) offset += cipher.update(piece).copy(record, offset);
  offset += cipher.final().copy(record, offset);
  // GCM's ciphertext is exactly as long as its plaintext; anything else would send stale bytes.
  if (offset !== RECORD_HEADER_BYTES + bytes) {
    throw new Error(`sealed ${offset - RECORD_HEADER_BYTES} bytes of ciphertext for ${bytes}`);
  }
  cipher.getAuthTag().copy(record, offset);
  return record;
}
