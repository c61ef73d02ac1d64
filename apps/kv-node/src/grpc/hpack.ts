/**
 * Just enough HPACK (RFC 7541) to read a client's request headers and write them out again: a
 * decoder that keeps the connection's dynamic table as the client's encoder does, and an encoder
 * that never touches the peer's dynamic table (literals without indexing), so what it writes
 * never changes how the receiver decodes later blocks. Header names and values are kept as
 * latin1 strings, one character per byte, so no byte is altered.
 */

import { decodeHuffman } from './hpack-huffman.js';

/** One header field: name and value, each byte as one latin1 character. */
export type HeaderField = readonly [name: string, value: string];

/** RFC 7541 Appendix A: the static table, index 1 first. */
// prettier-ignore
const STATIC_TABLE: readonly HeaderField[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'],
  [':path', '/index.html'], [':scheme', 'http'], [':scheme', 'https'], [':status', '200'],
  [':status', '204'], [':status', '206'], [':status', '304'], [':status', '400'],
  [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''],
  ['accept', ''], ['access-control-allow-origin', ''], ['age', ''], ['allow', ''],
  ['authorization', ''], ['cache-control', ''], ['content-disposition', ''],
  ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''],
  ['date', ''], ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''],
  ['if-match', ''], ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''],
  ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''], ['location', ''],
  ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''],
  ['vary', ''], ['via', ''], ['www-authenticate', ''],
];

/** The static index of each name's first entry, for the encoder. */
const STATIC_NAME_INDEX = new Map<string, number>();
STATIC_TABLE.forEach(([name], position) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, position + 1);
});

/** Per RFC 7541 §4.1: an entry's size counts 32 bytes of overhead besides name and value. */
const ENTRY_OVERHEAD = 32;

/** Thrown for a header block that is not valid HPACK (a COMPRESSION_ERROR in HTTP/2 terms). */
export class HpackError extends Error {}

/**
 * Decodes the header blocks of one direction of one HTTP/2 connection, in order, keeping the
 * dynamic table the sender's encoder keeps. `maxTableSize` is the SETTINGS_HEADER_TABLE_SIZE the
 * receiver announced (4096 unless it said otherwise); the sender may lower the table below it,
 * never raise it above.
 */
export class HpackDecoder {
  readonly #maxTableSize: number;
  #tableSize: number;
  /** Newest entry first, as HPACK numbers them. */
  readonly #entries: HeaderField[] = [];
  #entriesSize = 0;

  constructor(maxTableSize = 4096) {
    this.#maxTableSize = maxTableSize;
    this.#tableSize = maxTableSize;
  }

  /**
   * Decodes one complete header block (HEADERS plus any CONTINUATION fragments, unpadded).
   * Throws {@link HpackError} for invalid HPACK, and for a list over `maxListSize` bytes (counted
   * as HTTP/2's SETTINGS_MAX_HEADER_LIST_SIZE counts: name, value and 32 per field): one byte
   * may name a table entry of kilobytes, so the size of the block alone bounds nothing.
   */
  decode(block: Uint8Array, maxListSize: number): HeaderField[] {
    const reader = { bytes: block, offset: 0 };
    const fields: HeaderField[] = [];
    let listSize = 0;
    while (reader.offset < block.length) {
      const last = fields.at(-1);
      if (last !== undefined) {
        listSize += last[0].length + last[1].length + ENTRY_OVERHEAD;
        if (listSize > maxListSize) throw new HpackError('header list too large');
      }
      const first = block[reader.offset] as number;
      if (first & 0x80) {
        fields.push(this.#lookup(readInteger(reader, 7)));
      } else if (first & 0x40) {
        const field = this.#readLiteral(reader, 6);
        this.#add(field);
        fields.push(field);
      } else if (first & 0x20) {
        if (fields.length > 0) throw new HpackError('table size update after a header field');
        const size = readInteger(reader, 5);
        if (size > this.#maxTableSize) throw new HpackError('table size update over the limit');
        this.#tableSize = size;
        this.#evictTo(size);
      } else {
        // Literal without indexing (0000) or never indexed (0001): the table is untouched.
        fields.push(this.#readLiteral(reader, 4));
      }
    }
    const last = fields.at(-1);
    if (
      last !== undefined &&
      listSize + last[0].length + last[1].length + ENTRY_OVERHEAD > maxListSize
    ) {
      throw new HpackError('header list too large');
    }
    return fields;
  }

  #readLiteral(reader: Reader, prefixBits: number): HeaderField {
    const nameIndex = readInteger(reader, prefixBits);
    const name = nameIndex === 0 ? readString(reader) : this.#lookup(nameIndex)[0];
    return [name, readString(reader)];
  }

  #lookup(index: number): HeaderField {
    if (index === 0) throw new HpackError('header index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1] as HeaderField;
    const entry = this.#entries[index - STATIC_TABLE.length - 1];
    if (entry === undefined) throw new HpackError(`header index ${index} is not in the table`);
    return entry;
  }

  #add(field: HeaderField): void {
    const size = field[0].length + field[1].length + ENTRY_OVERHEAD;
    // An entry larger than the whole table empties it and is not added (RFC 7541 §4.4).
    this.#evictTo(this.#tableSize - size);
    if (size > this.#tableSize) return;
    this.#entries.unshift(field);
    this.#entriesSize += size;
  }

  #evictTo(size: number): void {
    while (this.#entriesSize > Math.max(size, 0)) {
      const oldest = this.#entries.pop() as HeaderField;
      this.#entriesSize -= oldest[0].length + oldest[1].length + ENTRY_OVERHEAD;
    }
  }
}

/**
 * Encodes `fields` as one header block of literals without indexing (name by static index when
 * the static table has it), with no Huffman coding: the receiver's dynamic table is not used
 * and not changed.
 */
export function encodeHeaderBlock(fields: readonly HeaderField[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const nameIndex = STATIC_NAME_INDEX.get(name);
    if (nameIndex === undefined) {
      parts.push(encodeInteger(0, 4, 0x00), encodeString(name));
    } else {
      parts.push(encodeInteger(nameIndex, 4, 0x00));
    }
    parts.push(encodeString(value));
  }
  return Buffer.concat(parts);
}

interface Reader {
  bytes: Uint8Array;
  offset: number;
}

/** Integers past this are refused: no header block legitimately needs them. */
const MAX_INTEGER = 2 ** 31 - 1;

function readInteger(reader: Reader, prefixBits: number): number {
  const prefixMax = (1 << prefixBits) - 1;
  const first = reader.bytes[reader.offset];
  if (first === undefined) throw new HpackError('header block ends inside an integer');
  reader.offset += 1;
  let value = first & prefixMax;
  if (value < prefixMax) return value;
  for (let shift = 0; ; shift += 7) {
    const byte = reader.bytes[reader.offset];
    if (byte === undefined) throw new HpackError('header block ends inside an integer');
    reader.offset += 1;
    value += (byte & 0x7f) * 2 ** shift;
    if (value > MAX_INTEGER) throw new HpackError('integer too large');
    if ((byte & 0x80) === 0) return value;
  }
}

function readString(reader: Reader): string {
  const huffman = ((reader.bytes[reader.offset] ?? 0) & 0x80) !== 0;
  const length = readInteger(reader, 7);
  const end = reader.offset + length;
  if (end > reader.bytes.length) throw new HpackError('header block ends inside a string');
  const raw = reader.bytes.subarray(reader.offset, end);
  reader.offset = end;
  if (!huffman) return Buffer.from(raw).toString('latin1');
  try {
    return decodeHuffman(raw).toString('latin1');
  } catch (error) {
    throw new HpackError((error as Error).message);
  }
}

function encodeInteger(value: number, prefixBits: number, flags: number): Buffer {
  const prefixMax = (1 << prefixBits) - 1;
  if (value < prefixMax) return Buffer.from([flags | value]);
  const bytes = [flags | prefixMax];
  let rest = value - prefixMax;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function encodeString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([encodeInteger(bytes.length, 7, 0x00), bytes]);
}
