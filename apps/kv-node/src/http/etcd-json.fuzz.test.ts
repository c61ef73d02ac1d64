// Structured fuzzing of the JSON request decoders of the etcd gateway (issue 23): valid range,
// put, delete-range and txn bodies (proto and lowerCamel names, integers as numbers or strings,
// enums by name or number, nested transactions), mutated as JSON (a member replaced by any JSON
// value, an unknown field added, transactions nested deeper, numbers beyond 2^53) or as text (bit
// flips, truncation, extension, then parsed). Every body decodes to a request the replicated
// command codec round-trips, or throws ApiError (a 4xx); nothing else. FUZZ_RUNS scales the cases
// (docs/guides/fuzzing.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzedBytes } from '../../../../tools/fuzz/byte-mutations.js';
import { fuzzRuns, fuzzTimeoutMs } from '../../../../tools/fuzz/fuzz-runs.js';
import { BinaryReader } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { decodeCommand, encodeCommand } from '../codec/command-codec.js';
import { decodeRange as decodeRangeBinary, encodeRange } from '../codec/request-codec.js';
import { ApiError } from './api-error.js';
import { DEFAULT_API_LIMITS } from './api-limits.js';
import type { ApiLimits } from './api-limits.js';
import { decodeDeleteRange, decodePut, decodeRange, decodeTxn } from './etcd-json.js';

const runs = fuzzRuns(500);
const limits: ApiLimits = {
  ...DEFAULT_API_LIMITS,
  maxKeyBytes: 16,
  maxValueBytes: 32,
  maxTxnOps: 4,
};

type Json = null | boolean | number | string | Json[] | { [name: string]: Json };

const base64 = fc
  .uint8Array({ maxLength: 20 })
  .chain((bytes) =>
    fc.constantFrom(
      Buffer.from(bytes).toString('base64'),
      Buffer.from(bytes).toString('base64url'),
      Buffer.from(bytes).toString('base64').replace(/=+$/, ''),
    ),
  );
const key = fc
  .uint8Array({ minLength: 1, maxLength: 16 })
  .map((bytes) => Buffer.from(bytes).toString('base64'));
const integer: fc.Arbitrary<Json> = fc.oneof(
  fc.nat({ max: 1000 }),
  fc.nat({ max: 1000 }).map(String),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, String(Number.MAX_SAFE_INTEGER)),
);

/** An object with each member under its proto name or its lowerCamel JSON name, some left out. */
function message(
  members: Record<string, fc.Arbitrary<Json>>,
  required: string[] = [],
): fc.Arbitrary<Json> {
  const entries = Object.entries(members).map(([name, value]) => {
    const camel = name.replace(/_([a-z])/g, (_m, letter: string) => letter.toUpperCase());
    const named = fc.tuple(fc.constantFrom(name, camel), value);
    return required.includes(name)
      ? named.map((pair) => [pair])
      : fc.option(
          named.map((pair) => [pair]),
          { nil: [] },
        );
  });
  return fc.tuple(...entries).map((pairs) => Object.fromEntries(pairs.flat()) as Json);
}

const rangeBody = message(
  {
    key,
    range_end: base64,
    limit: integer,
    keys_only: fc.boolean(),
    count_only: fc.boolean(),
    sort_order: fc.oneof(fc.constantFrom('NONE', 'ASCEND', 'DESCEND'), fc.nat({ max: 2 })),
    sort_target: fc.oneof(
      fc.constantFrom('KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'),
      fc.nat({ max: 4 }),
    ),
    min_mod_revision: integer,
    max_mod_revision: integer,
    min_create_revision: integer,
    max_create_revision: integer,
    serializable: fc.boolean(),
  },
  ['key'],
);
const putBody = message({ key, value: base64, prev_kv: fc.boolean() }, ['key']);
const deleteBody = message({ key, range_end: base64, prev_kv: fc.boolean() }, ['key']);
const compareBody = message(
  {
    key,
    range_end: base64,
    result: fc.oneof(fc.constantFrom('EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'), fc.nat({ max: 3 })),
    target: fc.oneof(fc.constantFrom('VERSION', 'CREATE', 'MOD', 'VALUE'), fc.nat({ max: 3 })),
    version: integer,
    create_revision: integer,
    mod_revision: integer,
    value: base64,
  },
  ['key'],
);
const { txn: txnBody } = fc.letrec<{ txn: Json; op: Json }>((tie) => ({
  op: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    rangeBody.map((body) => ({ request_range: body })),
    putBody.map((body) => ({ request_put: body })),
    deleteBody.map((body) => ({ request_delete_range: body })),
    tie('txn').map((body) => ({ request_txn: body })),
  ),
  txn: message({
    compare: fc.array(compareBody, { maxLength: 2 }),
    success: fc.array(tie('op'), { maxLength: 3 }),
    failure: fc.array(tie('op'), { maxLength: 2 }),
  }),
}));

/** Values a fuzzer puts where a member was: wrong types, huge numbers, deep nesting. */
const anyValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.constantFrom<Json>(
    -1,
    0.5,
    2 ** 53,
    1e21,
    '9007199254740993',
    '-0',
    '1e3',
    '',
    '====',
    'a',
    'LEASE',
    4,
    null,
    {},
    [],
    { request_txn: {} },
  ),
);

/** Every path to a member or element of `value`. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const children = Array.isArray(value)
    ? value.map((child, index) => paths(child, [...prefix, index]))
    : Object.entries(value).map(([name, child]) => paths(child, [...prefix, name]));
  return [prefix, ...children.flat()];
}

function replaceAt(value: Json, path: (string | number)[], replacement: Json): Json {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value))
    return value.map((child, index) =>
      index === head ? replaceAt(child, rest, replacement) : child,
    );
  if (value !== null && typeof value === 'object') {
    return {
      ...value,
      [head as string]: replaceAt(value[head as string] as Json, rest, replacement),
    };
  }
  return value;
}

type Mutation =
  | { kind: 'replace'; pick: number; value: Json }
  | { kind: 'unknown-field'; pick: number; name: string; value: Json }
  | { kind: 'deepen'; depth: number }
  | { kind: 'text'; bytes: Uint8Array };

function mutate(body: Json, mutation: Mutation): Json | undefined {
  switch (mutation.kind) {
    case 'replace': {
      const all = paths(body);
      return replaceAt(body, all[mutation.pick % all.length]!, mutation.value);
    }
    case 'unknown-field': {
      const objects = paths(body).filter((path) => {
        let node: Json = body;
        for (const step of path) node = (node as Record<string, Json>)[step as string] as Json;
        return node !== null && typeof node === 'object' && !Array.isArray(node);
      });
      const path = objects[mutation.pick % objects.length] ?? [];
      let node: Json = body;
      for (const step of path) node = (node as Record<string, Json>)[step as string] as Json;
      return replaceAt(body, path, {
        ...(node as Record<string, Json>),
        [mutation.name]: mutation.value,
      });
    }
    case 'deepen': {
      let nested: Json = body;
      for (let level = 0; level < mutation.depth; level++)
        nested = { success: [{ request_txn: nested }] };
      return nested;
    }
    case 'text':
      try {
        return JSON.parse(Buffer.from(mutation.bytes).toString('utf8')) as Json;
      } catch {
        return undefined; // the route answers 400 malformed JSON before any decoder runs
      }
  }
}

const kinds = {
  range: { body: rangeBody, decode: decodeRange },
  put: { body: putBody, decode: decodePut },
  deleteRange: { body: deleteBody, decode: decodeDeleteRange },
  txn: { body: txnBody, decode: decodeTxn },
} as const;
type Kind = keyof typeof kinds;

const input = fc.constantFrom(...(Object.keys(kinds) as Kind[])).chain((kind) =>
  kinds[kind].body.chain((body) =>
    fc.tuple(
      fc.constant(kind),
      fc.option(
        fc.oneof(
          {
            arbitrary: fc.record({
              kind: fc.constant('replace' as const),
              pick: fc.nat(),
              value: anyValue,
            }),
            weight: 5,
          },
          {
            arbitrary: fc.record({
              kind: fc.constant('unknown-field' as const),
              pick: fc.nat(),
              name: fc.constantFrom(
                'lease',
                'ignore_value',
                '__proto__',
                'constructor',
                'toString',
                'x',
              ),
              value: anyValue,
            }),
            weight: 2,
          },
          {
            arbitrary: fc.record({
              kind: fc.constant('deepen' as const),
              depth: fc.integer({ min: 1, max: 12 }),
            }),
            weight: 1,
          },
          {
            arbitrary: fuzzedBytes(fc.constant(Buffer.from(JSON.stringify(body)))).map((bytes) => ({
              kind: 'text' as const,
              bytes,
            })),
            weight: 2,
          },
        ),
        { nil: undefined, freq: 5 },
      ),
      fc.constant(body),
    ),
  ),
);

/** What the decoded request becomes next: a replicated command, or (a range) its binary form. */
function roundTrip(kind: Kind, decoded: unknown): void {
  if (kind === 'range') {
    const { request } = decoded as ReturnType<typeof decodeRange>;
    const writer = new BinaryWriter(64);
    encodeRange(writer, request);
    expect(decodeRangeBinary(new BinaryReader(writer.finish()))).toEqual(request);
    return;
  }
  const command = { type: kind, request: decoded } as Parameters<typeof encodeCommand>[0];
  expect(decodeCommand(encodeCommand(command)).command).toEqual(command);
}

describe('etcd JSON decoders under fuzzing', () => {
  it(
    'decode every mutated body to a request the command codec round-trips, or throw a 4xx ApiError',
    () => {
      fc.assert(
        fc.property(input, ([kind, mutation, valid]) => {
          const body = mutation === undefined ? valid : mutate(valid, mutation);
          if (body === undefined) return;
          let decoded: unknown;
          try {
            decoded = kinds[kind].decode(body, limits);
          } catch (error) {
            expect(error).toBeInstanceOf(ApiError);
            const { status } = (error as ApiError).details;
            expect(status >= 400 && status < 500).toBe(true);
            return;
          }
          roundTrip(kind, decoded);
        }),
        { numRuns: runs },
      );
    },
    fuzzTimeoutMs(runs),
  );
});
