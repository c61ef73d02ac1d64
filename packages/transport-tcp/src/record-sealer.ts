import { createCipheriv } from 'node:crypto';
import { ProtocolError } from './errors.js';
import {
  MAX_RECORD_BYTES,
  MAX_RECORDS_PER_KEY,
  RECORD_CIPHER,
  RECORD_HEADER_BYTES,
  RECORD_TAG_BYTES,
  recordNonce,
} from './record.js';

/**
 * Seals the outbound byte stream of one connection direction into records (see `record.ts`).
 * Each call seals what one socket write carries, so the cost of a cipher per record is shared by
 * every frame of the batch; runs longer than {@link MAX_RECORD_BYTES} are split.
 */
export class RecordSealer {
  private sequence = 0;

  /** @param key - this direction's 32-byte AES-256-GCM key */
  constructor(private readonly key: Uint8Array) {}

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
   * soon as that record is sealed. A caller that writes each record at once lets the peer open
   * one record while this side seals the next: sealing a whole batch before writing any of it
   * would leave the two ends taking turns.
   *
   * @throws {@link ProtocolError} (code `KEY_EXHAUSTED`) after {@link MAX_RECORDS_PER_KEY} records:
   *   the connection must be replaced
   */
  sealEach(chunks: readonly Uint8Array[], emit: (record: readonly Buffer[]) => void): void {
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

  private sealRecord(pieces: Uint8Array[], bytes: number): Buffer[] {
    if (this.sequence >= MAX_RECORDS_PER_KEY) {
      throw new ProtocolError(
        `${MAX_RECORDS_PER_KEY} records sealed under one key; reconnect for fresh keys`,
        'KEY_EXHAUSTED',
      );
    }
    const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    header.writeUInt32BE(bytes, 0);
    const cipher = createCipheriv(RECORD_CIPHER, this.key, recordNonce(this.sequence), {
      authTagLength: RECORD_TAG_BYTES,
    });
    this.sequence += 1;
    cipher.setAAD(header);
    const out = [header];
    for (const piece of pieces) out.push(cipher.update(piece));
    const last = cipher.final();
    if (last.length > 0) out.push(last);
    out.push(cipher.getAuthTag());
    return out;
  }
}
