// Structured fuzzing of what the HTTP API decodes from a request (issue 23), in-process over a
// direct backend: REST key paths (percent-encoding valid or not), If-Match / If-None-Match
// headers, list query parameters and v3 JSON bodies (valid ones mutated as text). Every request is
// answered with a success or a 4xx (never a 5xx: a 500 here is an input the decoders let through
// to where it breaks something), and the server keeps serving. FUZZ_RUNS scales the cases
// (docs/guides/fuzzing.md).
import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzedBytes } from '../../../tools/fuzz/byte-mutations.js';
import { fuzzRuns, fuzzTimeoutMs } from '../../../tools/fuzz/fuzz-runs.js';
import { DEFAULT_API_LIMITS } from '../src/http/api-limits.js';
import type { TestApi } from './support/api-server.js';
import { startTestApi } from './support/api-server.js';

const runs = fuzzRuns(100);
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({
    limits: {
      ...DEFAULT_API_LIMITS,
      maxKeyBytes: 64,
      maxValueBytes: 1024,
      maxRequestBytes: 4096,
      maxTxnOps: 8,
    },
  });
});
afterAll(async () => {
  await api.close();
});

/** Sends a request exactly as given (no normalization of the path) and resolves its status. */
function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Uint8Array,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: '127.0.0.1', port: api.port, method, path, headers },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body === undefined ? undefined : Buffer.from(body));
  });
}

/** Path characters Node sends as they are, and percent-escapes valid, invalid or cut short. */
const pathPiece = fc.oneof(
  fc.string({ unit: fc.constantFrom(..."abz09-._~!$&'()*+,;=:@/?#[]".split('')), maxLength: 6 }),
  fc.nat({ max: 255 }).map((byte) => `%${byte.toString(16).padStart(2, '0')}`),
  fc.constantFrom('%', '%z', '%zz', '%C3', '%C3%28', '%ED%A0%80', '%00', '..', '%2e%2e', '%2F'),
);
const keyPath = fc.array(pathPiece, { maxLength: 6 }).map((pieces) => `/v1/kv/${pieces.join('')}`);
/** ETags as clients send them and as a fuzzer would: numbers of 1 to 17 digits, lists, junk. */
const etag = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('', 'W/'),
      fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: 1, maxLength: 17 }),
    )
    .map(([weak, digits]) => `${weak}"${digits}"`),
  fc.string({ unit: fc.constantFrom(...'0123456789"W/* ,'.split('')), maxLength: 20 }),
  fc.constantFrom('*', '"9999999999999999"', 'W/"9007199254740992"', '"-1"', '""'),
);
const conditionalHeaders = fc.record(
  {
    'if-match': etag,
    'if-none-match': fc.oneof(
      { arbitrary: fc.constant('*'), weight: 3 },
      { arbitrary: etag, weight: 1 },
    ),
    'idempotency-key': fc.string({ unit: fc.constantFrom(...'ab-_1'.split('')), maxLength: 8 }),
  },
  { requiredKeys: [] },
);

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const v3Bodies = {
  '/v3/kv/range': { key: b64('a'), range_end: b64('z'), limit: '10' },
  '/v3/kv/put': { key: b64('a'), value: b64('v'), prev_kv: true },
  '/v3/kv/deleterange': { key: b64('a'), range_end: b64('b') },
  '/v3/kv/txn': {
    compare: [{ key: b64('a'), target: 'MOD', result: 'LESS', mod_revision: '99' }],
    success: [{ request_put: { key: b64('a'), value: b64('1') } }],
    failure: [{ request_range: { key: b64('a') } }],
  },
} as const;
const v3Request = fc
  .constantFrom(...(Object.keys(v3Bodies) as (keyof typeof v3Bodies)[]))
  .chain((path) =>
    fc.tuple(
      fc.constant(path),
      fuzzedBytes(fc.constant(Buffer.from(JSON.stringify(v3Bodies[path])))),
    ),
  );

const exchange = fc.oneof(
  fc.record({
    kind: fc.constant('rest' as const),
    method: fc.constantFrom('GET', 'PUT', 'DELETE'),
    path: keyPath,
    headers: conditionalHeaders,
    body: fc.uint8Array({ maxLength: 32 }),
  }),
  fc.record({
    kind: fc.constant('list' as const),
    query: fc.array(
      fc.tuple(fc.constantFrom('prefix', 'limit', 'keys_only', 'consistency'), pathPiece),
      {
        maxLength: 4,
      },
    ),
  }),
  v3Request.map(([path, body]) => ({ kind: 'v3' as const, path, body })),
);

describe('HTTP API inputs under fuzzing', () => {
  it(
    'answers every fuzzed request with a success or a 4xx, and keeps serving',
    async () => {
      await fc.assert(
        fc.asyncProperty(exchange, async (input) => {
          let status: number;
          switch (input.kind) {
            case 'rest':
              status = await send(
                input.method,
                input.path,
                input.headers,
                input.method === 'PUT' ? input.body : undefined,
              );
              break;
            case 'list':
              status = await send(
                'GET',
                `/v1/kv?${input.query.map(([name, value]) => `${name}=${value}`).join('&')}`,
                {},
              );
              break;
            case 'v3':
              status = await send(
                'POST',
                input.path,
                { 'content-type': 'application/json' },
                input.body,
              );
              break;
          }
          expect(status, JSON.stringify(input)).toBeGreaterThanOrEqual(200);
          expect(status, JSON.stringify(input)).toBeLessThan(500);
        }),
        { numRuns: runs },
      );
      expect(await send('GET', '/livez', {})).toBe(200);
    },
    fuzzTimeoutMs(runs, 50),
  );
});
