/**
 * Decoding of etcd gateway JSON fields with errors that name the field: protobuf JSON accepts
 * 64-bit integers as numbers or strings, bytes as base64 (standard or URL-safe, padding
 * optional), enums by name or number, and both the proto names and the lowerCamel JSON names.
 */

import type { ByteString } from '../store/byte-string.js';
import { badRequest } from './api-error.js';

/** A JSON object as parsed from a request. */
export type JsonObject = Record<string, unknown>;

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

const camelNames = new Map<string, string>();

/** Converts a proto field name to its lowerCamel JSON name (`range_end` -> `rangeEnd`). */
function camelName(protoName: string): string {
  let camel = camelNames.get(protoName);
  if (camel === undefined) {
    camel = protoName.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
    camelNames.set(protoName, camel);
  }
  return camel;
}

/** Reads fields of one JSON object and rejects unknown ones, as etcd's gateway does. */
export class FieldReader {
  readonly #object: JsonObject;
  readonly #path: string;
  readonly #known = new Set<string>();

  /**
   * @param value the parsed JSON value that must be an object.
   * @param path where it sits in the request, for error messages ('' for the body).
   * @throws ApiError (400) if `value` is not an object.
   */
  constructor(value: unknown, path = '') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw badRequest(
        `${path === '' ? 'request body' : path} must be a JSON object`,
        path || 'body',
      );
    }
    this.#object = value as JsonObject;
    this.#path = path;
  }

  /** The full name of a field, for error messages. */
  fieldName(protoName: string): string {
    return this.#path === '' ? protoName : `${this.#path}.${protoName}`;
  }

  /** The raw value of a field under its proto or JSON name, or `undefined`. */
  raw(protoName: string): unknown {
    this.#known.add(protoName);
    const camel = camelName(protoName);
    this.#known.add(camel);
    const value = this.#object[protoName] ?? this.#object[camel];
    return value === null ? undefined : value;
  }

  /** A bytes field (base64), as a byte string; `''` when absent. */
  bytes(protoName: string): ByteString {
    const value = this.raw(protoName);
    if (value === undefined) return '';
    if (typeof value !== 'string' || !BASE64.test(value) || value.length % 4 === 1) {
      throw badRequest(`${this.fieldName(protoName)} must be base64`, this.fieldName(protoName));
    }
    return Buffer.from(
      value,
      value.includes('-') || value.includes('_') ? 'base64url' : 'base64',
    ).toString('latin1');
  }

  /** A non-negative 64-bit integer field (number or decimal string), within safe range. */
  integer(protoName: string): number {
    const value = this.raw(protoName);
    if (value === undefined) return 0;
    const number =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && /^-?\d+$/.test(value)
          ? Number(value)
          : Number.NaN;
    if (!Number.isSafeInteger(number) || number < 0) {
      throw badRequest(
        `${this.fieldName(protoName)} must be a non-negative integer`,
        this.fieldName(protoName),
      );
    }
    // `-0` and "-0" pass the checks above; the store and the codecs know only 0.
    return number === 0 ? 0 : number;
  }

  /** A boolean field; `false` when absent. */
  boolean(protoName: string): boolean {
    const value = this.raw(protoName);
    if (value === undefined) return false;
    if (typeof value !== 'boolean') {
      throw badRequest(`${this.fieldName(protoName)} must be a boolean`, this.fieldName(protoName));
    }
    return value;
  }

  /** An enum field by etcd name (`"ASCEND"`) or number; `table[0]` when absent. */
  enumeration<T>(protoName: string, names: readonly string[], table: readonly T[]): T {
    const value = this.raw(protoName);
    if (value === undefined) return table[0] as T;
    const code =
      typeof value === 'number' ? value : typeof value === 'string' ? names.indexOf(value) : -1;
    const result = table[code];
    if (result === undefined || !Number.isInteger(code)) {
      throw badRequest(
        `${this.fieldName(protoName)} must be one of ${names.join(', ')}`,
        this.fieldName(protoName),
      );
    }
    return result;
  }

  /** An array field; `[]` when absent. */
  array(protoName: string): unknown[] {
    const value = this.raw(protoName);
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      throw badRequest(`${this.fieldName(protoName)} must be an array`, this.fieldName(protoName));
    }
    return value;
  }

  /**
   * Rejects fields that were never asked for.
   *
   * @throws ApiError (400) naming the first unknown field.
   */
  rejectUnknown(): void {
    for (const name of Object.keys(this.#object)) {
      if (!this.#known.has(name)) {
        throw badRequest(`unknown field "${name}"`, this.fieldName(name));
      }
    }
  }
}
