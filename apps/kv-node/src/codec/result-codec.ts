/**
 * Binary encoding of store results, so the idempotency table (which remembers first results) can
 * travel inside snapshots.
 */

import type {
  DeleteRangeResult,
  KeyValue,
  PutResult,
  RangeResult,
  ResponseOp,
  TxnResult,
} from '../store/kv-types.js';
import type { BinaryReader } from './binary-reader.js';
import { MalformedEncodingError } from './binary-reader.js';
import type { BinaryWriter } from './binary-writer.js';
import { checkTxnDepth } from './request-codec.js';

const OP_RANGE = 1;
const OP_PUT = 2;
const OP_DELETE_RANGE = 3;
const OP_TXN = 4;
/** A range of a write txn whose result was not materialized: only its revision. */
const OP_RANGE_NOT_READ = 5;
/** A delete-range whose previous key-values are not kept: its count and revision. */
const OP_DELETE_RANGE_PREV_NOT_READ = 6;

/** The byte after a put result's revision: no previous key-value, one, or one not kept. */
const PREV_NONE = 0;
const PREV_PRESENT = 1;
const PREV_NOT_READ = 2;

function encodeKeyValue(writer: BinaryWriter, kv: KeyValue): void {
  writer.writeByteString(kv.key);
  writer.writeByteString(kv.value);
  writer.writeVarint(kv.createRevision);
  writer.writeVarint(kv.modRevision);
  writer.writeVarint(kv.version);
}

function decodeKeyValue(reader: BinaryReader): KeyValue {
  return {
    key: reader.readByteString(),
    value: reader.readByteString(),
    createRevision: reader.readVarint(),
    modRevision: reader.readVarint(),
    version: reader.readVarint(),
  };
}

function encodeKeyValues(writer: BinaryWriter, kvs: readonly KeyValue[]): void {
  writer.writeVarint(kvs.length);
  for (const kv of kvs) encodeKeyValue(writer, kv);
}

function decodeKeyValues(reader: BinaryReader): KeyValue[] {
  const count = reader.readVarint();
  const kvs: KeyValue[] = [];
  for (let index = 0; index < count; index++) kvs.push(decodeKeyValue(reader));
  return kvs;
}

function encodeRangeResult(writer: BinaryWriter, result: RangeResult): void {
  encodeKeyValues(writer, result.kvs);
  writer.writeByte(result.more ? 1 : 0);
  writer.writeVarint(result.count);
  writer.writeVarint(result.revision);
}

function decodeRangeResult(reader: BinaryReader): RangeResult {
  return {
    kvs: decodeKeyValues(reader),
    more: reader.readByte() === 1,
    count: reader.readVarint(),
    revision: reader.readVarint(),
  };
}

function encodePutResult(writer: BinaryWriter, result: PutResult): void {
  writer.writeVarint(result.revision);
  if (result.prevNotRead === true) {
    writer.writeByte(PREV_NOT_READ);
  } else if (result.prevKv === undefined) {
    writer.writeByte(PREV_NONE);
  } else {
    writer.writeByte(PREV_PRESENT);
    encodeKeyValue(writer, result.prevKv);
  }
}

function decodePutResult(reader: BinaryReader): PutResult {
  const revision = reader.readVarint();
  const prev = reader.readByte();
  switch (prev) {
    case PREV_NONE:
      return { revision };
    case PREV_PRESENT:
      return { revision, prevKv: decodeKeyValue(reader) };
    case PREV_NOT_READ:
      return { revision, prevNotRead: true };
    default:
      throw new MalformedEncodingError(`unknown previous key-value tag ${prev}`);
  }
}

function encodeDeleteRangeResult(writer: BinaryWriter, result: DeleteRangeResult): void {
  writer.writeVarint(result.deleted);
  encodeKeyValues(writer, result.prevKvs);
  writer.writeVarint(result.revision);
}

function decodeDeleteRangeResult(reader: BinaryReader): DeleteRangeResult {
  return {
    deleted: reader.readVarint(),
    prevKvs: decodeKeyValues(reader),
    revision: reader.readVarint(),
  };
}

function encodeTxnResult(writer: BinaryWriter, result: TxnResult): void {
  writer.writeByte(result.succeeded ? 1 : 0);
  writer.writeVarint(result.responses.length);
  for (const response of result.responses) encodeResponseOp(writer, response);
  writer.writeVarint(result.revision);
}

function decodeTxnResult(reader: BinaryReader, depth: number): TxnResult {
  checkTxnDepth(depth, reader.offset);
  const succeeded = reader.readByte() === 1;
  const count = reader.readVarint();
  const responses: ResponseOp[] = [];
  for (let index = 0; index < count; index++) responses.push(decodeResponseOp(reader, depth));
  return { succeeded, responses, revision: reader.readVarint() };
}

/** Writes the result of one operation. */
export function encodeResponseOp(writer: BinaryWriter, response: ResponseOp): void {
  switch (response.type) {
    case 'range':
      writer.writeByte(OP_RANGE);
      encodeRangeResult(writer, response.result);
      return;
    case 'rangeNotRead':
      writer.writeByte(OP_RANGE_NOT_READ);
      writer.writeVarint(response.revision);
      return;
    case 'put':
      writer.writeByte(OP_PUT);
      encodePutResult(writer, response.result);
      return;
    case 'deleteRange':
      if (response.result.prevNotRead === true) {
        writer.writeByte(OP_DELETE_RANGE_PREV_NOT_READ);
        writer.writeVarint(response.result.deleted);
        writer.writeVarint(response.result.revision);
        return;
      }
      writer.writeByte(OP_DELETE_RANGE);
      encodeDeleteRangeResult(writer, response.result);
      return;
    case 'txn':
      writer.writeByte(OP_TXN);
      encodeTxnResult(writer, response.result);
      return;
  }
}

/**
 * Reads the result of one operation, nested in `depth` transaction results.
 * @throws MalformedEncodingError on bad bytes or nesting beyond the decoders' bound.
 */
export function decodeResponseOp(reader: BinaryReader, depth = 0): ResponseOp {
  const tag = reader.readByte();
  switch (tag) {
    case OP_RANGE:
      return { type: 'range', result: decodeRangeResult(reader) };
    case OP_RANGE_NOT_READ:
      return { type: 'rangeNotRead', revision: reader.readVarint() };
    case OP_PUT:
      return { type: 'put', result: decodePutResult(reader) };
    case OP_DELETE_RANGE:
      return { type: 'deleteRange', result: decodeDeleteRangeResult(reader) };
    case OP_DELETE_RANGE_PREV_NOT_READ: {
      const deleted = reader.readVarint();
      const revision = reader.readVarint();
      return {
        type: 'deleteRange',
        result: { deleted, prevKvs: [], revision, prevNotRead: true },
      };
    }
    case OP_TXN:
      return { type: 'txn', result: decodeTxnResult(reader, depth + 1) };
    default:
      throw new MalformedEncodingError(`unknown result tag ${tag}`);
  }
}
