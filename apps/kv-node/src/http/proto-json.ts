/**
 * etcd's messages in its JSON gateway's shapes, mapped from the vendored `.proto` files
 * (`grpc/etcd-proto-messages.ts`) rather than written out per message: each message type's
 * field table is turned once into a decoder and an encoder, plain loops over that table.
 *
 * Reading (proto3's JSON mapping, as etcd 3.4's grpc-gateway reads): a field under its proto
 * name (`range_end`) or its lowerCamel JSON name (`rangeEnd`); 64-bit integers as numbers or
 * decimal strings; bytes as base64, standard or URL-safe, padding optional; enums by name or
 * number; `null` as absent; an unknown field, or an enum value the type does not have, is an
 * error that names the field.
 *
 * Writing (etcd 3.4's gateway, `OrigName: true`, `EmitDefaults: false`): proto names in
 * declaration order, 64-bit integers as decimal strings, bytes as base64, enums by name, and
 * fields with zero values left out. The gRPC services send the same objects.
 */

import type { ByteString } from '../store/byte-string.js';
import { base64FromByteString } from '../store/byte-string.js';
import type { FieldShape, MessageShape } from '../grpc/etcd-proto-messages.js';
import { etcdMessageShapes } from '../grpc/etcd-proto-messages.js';
import { badRequest } from './api-error.js';

/** A JSON object (a request as parsed, or a response to send). */
export type JsonObject = Record<string, unknown>;

/**
 * A message decoded from JSON, under its fields' lowerCamel names, every field present: bytes
 * as byte strings, 64-bit integers as numbers when safe (decimal strings beyond 2^53), enums by
 * name, repeated fields as arrays. Message-typed fields are left as they came (`undefined` when
 * absent), for the caller to decode with {@link ProtoJson.field} once it knows it needs them:
 * recursive messages (a txn in a txn) are then decoded one level at a time, under the caller's
 * bounds.
 */
export type DecodedMessage = Record<string, unknown>;

/** Deepest nesting {@link ProtoJson.decodeAll} follows (etcd's messages nest a few levels). */
const MAX_NESTING = 32;

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function pathOf(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

/**
 * The bytes of a base64 text (already checked against {@link BASE64}) as a byte string.
 *
 * Why `atob` first: it decodes standard base64 straight into a one-byte-per-character string,
 * where `Buffer.from(...).toString('latin1')` allocates a buffer and then copies it into the
 * string (and the text was scanned twice for the URL-safe alphabet). For the texts the check
 * above lets through, `atob` either refuses them (the URL-safe alphabet, or padding on a length
 * that is not a multiple of 4, which Buffer accepts) or decodes them to the same bytes as Buffer
 * (leftover bits discarded alike); refusals take the Buffer path, so the answer never changes.
 */
function byteStringFromBase64(text: string): ByteString {
  try {
    return atob(text);
  } catch {
    return Buffer.from(
      text,
      text.includes('-') || text.includes('_') ? 'base64url' : 'base64',
    ).toString('latin1');
  }
}

/** A 64-bit integer within its range, as a number when safe, else as a decimal string. */
function decodeInt64(value: unknown, unsigned: boolean, path: string): number | string {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && (!unsigned || value >= 0)) return value === 0 ? 0 : value;
  } else if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) {
    const parsed = BigInt(value);
    if (parsed >= (unsigned ? 0n : INT64_MIN) && parsed <= (unsigned ? UINT64_MAX : INT64_MAX)) {
      const number = Number(parsed);
      return Number.isSafeInteger(number) ? number : parsed.toString();
    }
  }
  throw badRequest(`${path} must be ${unsigned ? 'an unsigned' : 'a'} 64-bit integer`, path);
}

function decodeInt32(value: unknown, unsigned: boolean, path: string): number {
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^-?\d{1,10}$/.test(value)
        ? Number(value)
        : Number.NaN;
  const [min, max] = unsigned ? [0, 2 ** 32 - 1] : [-(2 ** 31), 2 ** 31 - 1];
  if (!Number.isInteger(number) || number < min || number > max) {
    throw badRequest(`${path} must be ${unsigned ? 'an unsigned' : 'a'} 32-bit integer`, path);
  }
  return number === 0 ? 0 : number;
}

function decodeScalar(field: FieldShape, value: unknown, path: string): unknown {
  switch (field.kind) {
    case 'bytes':
      if (typeof value !== 'string' || !BASE64.test(value) || value.length % 4 === 1) {
        throw badRequest(`${path} must be base64`, path);
      }
      return byteStringFromBase64(value);
    case 'int64':
    case 'uint64':
      return decodeInt64(value, field.kind === 'uint64', path);
    case 'int32':
    case 'uint32':
      return decodeInt32(value, field.kind === 'uint32', path);
    case 'bool':
      if (typeof value !== 'boolean') throw badRequest(`${path} must be a boolean`, path);
      return value;
    case 'string':
      if (typeof value !== 'string') throw badRequest(`${path} must be a string`, path);
      return value;
    case 'float':
      if (typeof value !== 'number') throw badRequest(`${path} must be a number`, path);
      return value;
    case 'enum': {
      const names = field.enumNames as ReadonlyMap<number, string>;
      if (typeof value === 'number' && names.has(value)) return names.get(value);
      if (typeof value === 'string') {
        for (const name of names.values()) if (name === value) return name;
      }
      // etcd's gateway's words (jsonpb's), with the type's Go name.
      throw badRequest(
        `unknown value ${JSON.stringify(value)} for enum ${field.enumGoName ?? ''}`,
        path,
      );
    }
    case 'message':
      // Decoded by the caller, one level at a time (see DecodedMessage).
      return value;
  }
}

function zeroOf(field: FieldShape): unknown {
  if (field.repeated) return undefined;
  switch (field.kind) {
    case 'bytes':
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'enum':
      return field.enumNames?.get(0);
    case 'message':
      return undefined;
    default:
      return 0;
  }
}

/**
 * The writer of one field's value in the gateway's shapes, `undefined` for a zero value (left
 * out). Chosen once per field, so that encoding is a loop of direct calls.
 */
type FieldWriter = (value: unknown) => unknown;

function writerOf(field: FieldShape, codecs: ProtoJsonCodecs): FieldWriter {
  switch (field.kind) {
    case 'bytes':
      return (value) => (value === '' ? undefined : base64FromByteString(value as ByteString));
    case 'int64':
    case 'uint64':
      return (value) => (value === 0 || value === '0' || value === 0n ? undefined : String(value));
    case 'enum': {
      const names = field.enumNames as ReadonlyMap<number, string>;
      const zero = names.get(0);
      return (value) => {
        const name = typeof value === 'number' ? names.get(value) : value;
        return name === zero ? undefined : name;
      };
    }
    case 'message': {
      const messageType = field.messageType as string;
      // Present messages are written even when empty, as protobuf's JSON does.
      return (value) => codecs.of(messageType).encode(value as JsonObject);
    }
    case 'bool':
      return (value) => (value === true ? true : undefined);
    case 'string':
      return (value) => (value === '' ? undefined : value);
    default:
      return (value) => (value === 0 ? undefined : value);
  }
}

/** A repeated field's item writer: like the field's, but a zero item is written, not dropped. */
function writeItem(field: FieldShape, write: FieldWriter): (item: unknown) => unknown {
  return (item) => {
    const written = write(item);
    if (written !== undefined) return written;
    switch (field.kind) {
      case 'int64':
      case 'uint64':
        return '0';
      case 'enum':
        return field.enumNames?.get(0);
      default:
        return item;
    }
  };
}

/** The JSON mapping of one message type. */
export class ProtoJson {
  readonly #shape: MessageShape;
  readonly #codecs: ProtoJsonCodecs;
  /** Each field under both of its names. */
  readonly #byName = new Map<string, FieldShape>();
  /** The fields in declaration order, each with its writer. */
  readonly #writers: readonly {
    field: FieldShape;
    jsonName: string;
    protoName: string;
    write: FieldWriter;
  }[];

  constructor(shape: MessageShape, codecs: ProtoJsonCodecs) {
    this.#shape = shape;
    this.#codecs = codecs;
    this.#writers = shape.fields.map((field) => ({
      field,
      jsonName: field.jsonName,
      protoName: field.protoName,
      write: writerOf(field, codecs),
    }));
    for (const field of shape.fields) {
      this.#byName.set(field.protoName, field);
      this.#byName.set(field.jsonName, field);
    }
  }

  /** The message's full name (`etcdserverpb.PutRequest`). */
  get fullName(): string {
    return this.#shape.fullName;
  }

  /**
   * The mapping of a message-typed field's type.
   *
   * @throws Error if the message has no such message-typed field (a programming error).
   */
  field(protoName: string): ProtoJson {
    const field = this.#byName.get(protoName);
    if (field?.messageType === undefined) {
      throw new Error(`${this.fullName} has no message field ${protoName}`);
    }
    return this.#codecs.of(field.messageType);
  }

  /**
   * Decodes one level of the message from parsed JSON (see {@link DecodedMessage}).
   *
   * @param path where the message sits in the request, for error messages ('' for the body).
   * @throws ApiError (400) naming the field that is unknown or of the wrong type, or the
   *   message itself if it is not an object.
   */
  decode(value: unknown, path = ''): DecodedMessage {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw badRequest(
        `${path === '' ? 'request body' : path} must be a JSON object`,
        path || 'body',
      );
    }
    const decoded: DecodedMessage = {};
    const fields = this.#shape.fields;
    for (let index = 0; index < fields.length; index++) {
      const field = fields[index] as FieldShape;
      decoded[field.jsonName] = field.repeated ? [] : zeroOf(field);
    }
    const object = value as JsonObject;
    for (const name in object) {
      const field = this.#byName.get(name);
      if (field === undefined) throw badRequest(`unknown field "${name}"`, pathOf(path, name));
      const member = object[name];
      if (member === null || member === undefined) continue;
      const fieldPath = pathOf(path, field.protoName);
      if (!field.repeated) {
        decoded[field.jsonName] = decodeScalar(field, member, fieldPath);
        continue;
      }
      if (!Array.isArray(member)) throw badRequest(`${fieldPath} must be an array`, fieldPath);
      decoded[field.jsonName] =
        field.kind === 'message'
          ? member
          : member.map((item, index) => decodeScalar(field, item, `${fieldPath}[${index}]`));
    }
    return decoded;
  }

  /**
   * Decodes the whole message, message-typed fields included (for messages that do not nest
   * themselves; see {@link ProtoJson.decode} for those).
   *
   * @throws ApiError (400) as {@link ProtoJson.decode} does, or if messages nest deeper than
   *   32 levels.
   */
  decodeAll(value: unknown, path = '', depth = 0): DecodedMessage {
    if (depth > MAX_NESTING) throw badRequest(`${path || 'body'} nests too deeply`, path || 'body');
    const decoded = this.decode(value, path);
    for (const field of this.#shape.fields) {
      if (field.kind !== 'message') continue;
      const member = decoded[field.jsonName];
      if (member === undefined) continue;
      const codec = this.#codecs.of(field.messageType as string);
      const fieldPath = pathOf(path, field.protoName);
      decoded[field.jsonName] = field.repeated
        ? (member as unknown[]).map((item, index) =>
            codec.decodeAll(item, `${fieldPath}[${index}]`, depth + 1),
          )
        : codec.decodeAll(member, fieldPath, depth + 1);
    }
    return decoded;
  }

  /**
   * The message as etcd's gRPC services receive it from proto-loader (proto names, 64-bit
   * integers as decimal strings, bytes as standard base64, enums by name, zero values left out)
   * from any JSON the gateway accepts for it.
   *
   * @throws ApiError (400) as {@link ProtoJson.decodeAll} does.
   */
  canonical(value: unknown, path = ''): JsonObject {
    return this.encode(this.decodeAll(value, path));
  }

  /**
   * Encodes the message in the gateway's shapes from an object with its fields under their
   * lowerCamel names (other members are ignored): bytes as byte strings, 64-bit integers as
   * numbers, decimal strings or bigints, enums by name or number, messages as such objects.
   */
  encode(message: JsonObject): JsonObject {
    const encoded: JsonObject = {};
    const writers = this.#writers;
    for (let index = 0; index < writers.length; index++) {
      const writer = writers[index] as (typeof writers)[number];
      const value = message[writer.jsonName];
      if (value === undefined || value === null) continue;
      if (writer.field.repeated) {
        const items = value as unknown[];
        // Items of a repeated field are all written, zeros included (only the list is omitted).
        if (items.length > 0)
          encoded[writer.protoName] = items.map(writeItem(writer.field, writer.write));
        continue;
      }
      const written = writer.write(value);
      if (written !== undefined) encoded[writer.protoName] = written;
    }
    return encoded;
  }
}

/** The mappings of every message type of etcd's protos, built on first use of each. */
class ProtoJsonCodecs {
  readonly #codecs = new Map<string, ProtoJson>();

  of(fullName: string): ProtoJson {
    let codec = this.#codecs.get(fullName);
    if (codec === undefined) {
      const shape = etcdMessageShapes().get(fullName);
      if (shape === undefined) throw new Error(`${fullName} is not a message of etcd's protos`);
      codec = new ProtoJson(shape, this);
      this.#codecs.set(fullName, codec);
    }
    return codec;
  }
}

const codecs = new ProtoJsonCodecs();

/**
 * The JSON mapping of an etcd message type, from its full name (`etcdserverpb.RangeRequest`).
 *
 * @throws Error if etcd's protos have no such message (a programming error).
 */
export function protoJson(fullName: string): ProtoJson {
  return codecs.of(fullName);
}
