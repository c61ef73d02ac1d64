/**
 * Poison requests: requests a hostile or buggy client may send, each with the answer kv-node
 * must give. None may harm the cluster: they are refused before anything enters the log, or (a
 * huge range with a small limit) served within their bounds. Their keys start with `p/`, apart
 * from the register (`r/`) and set (`s/`) workloads.
 */
export type PoisonKind =
  | 'nested-txn'
  | 'too-many-ops'
  | 'deep-nesting'
  | 'oversized-body'
  | 'oversized-key'
  | 'oversized-value'
  | 'malformed-json'
  | 'not-an-object'
  | 'bad-base64'
  | 'wrong-type'
  | 'unknown-field'
  | 'duplicate-key-txn'
  | 'empty-key'
  | 'negative-limit'
  | 'huge-range-small-limit';

/** One poison: where it goes, its body, and the answer it must get. */
export interface PoisonRequest {
  readonly kind: PoisonKind;
  /** Path on a member's client port, e.g. `/v3/kv/txn`. */
  readonly path: string;
  /** The raw body (not necessarily JSON). */
  readonly body: () => string;
  /** HTTP statuses that are the right answer. */
  readonly expectedStatuses: readonly number[];
  /**
   * For an answer with an expected status, whether its body is right too (e.g. a limited range
   * returns at most its limit); undefined means any body.
   */
  readonly acceptBody?: (body: unknown) => boolean;
  /** The expected answer, for people. */
  readonly expected: string;
}

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Builds a body once, on first use: some are megabytes and are sent many times. */
function once(build: () => string): () => string {
  let built: string | undefined;
  return () => (built ??= build());
}

/** A range over every key (etcd's `\0` to `\0`). */
const everyKey = { key: base64('\u0000'), range_end: base64('\u0000') };

/**
 * Issue 23's finding 1: 1 put plus 127 nested txns of 128 unbounded ranges each (about 850 KB,
 * under every per-list limit). etcd counts every nested operation against one budget of 128
 * and answers 400 "too many operations in txn request"; accepted, every member that applies it
 * materializes 16,256 ranges over the whole store.
 */
function nestedTxnBody(): string {
  const ranges = Array.from({ length: 128 }, () => ({ request_range: { ...everyKey } }));
  const nested = Array.from({ length: 127 }, () => ({ request_txn: { success: ranges } }));
  return JSON.stringify({
    success: [{ request_put: { key: base64('p/nested'), value: base64('poison') } }, ...nested],
  });
}

/**
 * A txn nested `depth` levels deep around one range. Written as text: `JSON.stringify` of an
 * object this deep would overflow this process's stack, which is what a server's recursive
 * decoder must not do either.
 */
function deepNestingBody(depth: number): string {
  const innermost = JSON.stringify({ success: [{ request_range: { key: base64('p/deep') } }] });
  return `${'{"success":[{"request_txn":'.repeat(depth)}${innermost}${'}]}'.repeat(depth)}`;
}

const put = (key: string, value: string): string =>
  JSON.stringify({ key: base64(key), value: base64(value) });

/** Every poison kv-node must refuse (or bound), by kind. */
export const poisonRequests: Readonly<Record<PoisonKind, PoisonRequest>> = {
  'nested-txn': {
    kind: 'nested-txn',
    path: '/v3/kv/txn',
    body: once(nestedTxnBody),
    expectedStatuses: [400],
    expected: '400 too many operations (counted across nesting, as etcd does)',
  },
  'too-many-ops': {
    kind: 'too-many-ops',
    path: '/v3/kv/txn',
    body: once(() =>
      JSON.stringify({
        success: Array.from({ length: 129 }, (_, index) => ({
          request_put: { key: base64(`p/many/${index}`), value: base64('x') },
        })),
      }),
    ),
    expectedStatuses: [400],
    expected: '400 too many operations in txn request',
  },
  'deep-nesting': {
    kind: 'deep-nesting',
    path: '/v3/kv/txn',
    // 5,000 levels (150 KB): over etcd's budget of 128 operations counted across nesting, and
    // deep enough to overflow a recursive decoder that does not count before it recurses.
    body: once(() => deepNestingBody(5000)),
    expectedStatuses: [400],
    expected: '400 (too many operations, or nested too deeply)',
  },
  'oversized-body': {
    kind: 'oversized-body',
    path: '/v3/kv/put',
    body: once(() => put('p/oversized', 'x'.repeat(2 * 1024 * 1024))),
    expectedStatuses: [413],
    expected: '413 request body too large',
  },
  'oversized-key': {
    kind: 'oversized-key',
    path: '/v3/kv/put',
    body: once(() => put(`p/${'k'.repeat(4096)}`, 'x')),
    expectedStatuses: [400, 413],
    expected: '400 or 413 key too large',
  },
  'oversized-value': {
    kind: 'oversized-value',
    path: '/v3/kv/put',
    body: once(() => put('p/big-value', 'v'.repeat(1024 * 1024 + 1))),
    expectedStatuses: [400, 413],
    expected: '400 or 413 value too large',
  },
  'malformed-json': {
    kind: 'malformed-json',
    path: '/v3/kv/put',
    body: () => `{"key":"${base64('p/malformed')}","value":`,
    expectedStatuses: [400],
    expected: '400 malformed JSON',
  },
  'not-an-object': {
    kind: 'not-an-object',
    path: '/v3/kv/range',
    body: () => '[1,2,3]',
    expectedStatuses: [400],
    expected: '400 body must be a JSON object',
  },
  'bad-base64': {
    kind: 'bad-base64',
    path: '/v3/kv/put',
    body: () => JSON.stringify({ key: '!!not*base64!!', value: base64('x') }),
    expectedStatuses: [400],
    expected: '400 key must be base64',
  },
  'wrong-type': {
    kind: 'wrong-type',
    path: '/v3/kv/put',
    body: () => JSON.stringify({ key: 12345, value: [1, 2] }),
    expectedStatuses: [400],
    expected: '400 key must be base64',
  },
  'unknown-field': {
    kind: 'unknown-field',
    path: '/v3/kv/put',
    body: () => JSON.stringify({ key: base64('p/unknown'), value: base64('x'), bogus: true }),
    expectedStatuses: [400],
    expected: '400 unknown field',
  },
  'duplicate-key-txn': {
    kind: 'duplicate-key-txn',
    path: '/v3/kv/txn',
    body: () =>
      JSON.stringify({
        success: [
          { request_put: { key: base64('p/duplicate'), value: base64('1') } },
          { request_put: { key: base64('p/duplicate'), value: base64('2') } },
        ],
      }),
    expectedStatuses: [400],
    expected: '400 duplicate key given in txn request',
  },
  'empty-key': {
    kind: 'empty-key',
    path: '/v3/kv/put',
    body: () => JSON.stringify({ key: '', value: base64('x') }),
    expectedStatuses: [400],
    expected: '400 key is not provided',
  },
  'negative-limit': {
    kind: 'negative-limit',
    path: '/v3/kv/range',
    body: () => JSON.stringify({ ...everyKey, limit: -1 }),
    expectedStatuses: [400],
    expected: '400 limit must be a non-negative integer',
  },
  'huge-range-small-limit': {
    kind: 'huge-range-small-limit',
    path: '/v3/kv/range',
    body: () => JSON.stringify({ ...everyKey, limit: 1 }),
    expectedStatuses: [200],
    acceptBody: (body) => {
      const kvs = (body as { kvs?: unknown[] } | undefined)?.kvs ?? [];
      return Array.isArray(kvs) && kvs.length <= 1;
    },
    expected: '200 with at most 1 key',
  },
};

/**
 * Kinds that need issue 23's admission fix (nested operations counted against one budget):
 * against a kv-node from before it, the nested txn is accepted and every member that applies it
 * runs out of memory (or, on a small store, stalls), so leave them out with `--poison` when
 * testing such a build.
 */
export const poisonKindsNeedingAdmission: readonly PoisonKind[] = ['nested-txn'];

/** Every poison kind. */
export const allPoisonKinds = Object.keys(poisonRequests) as PoisonKind[];

/** The poisons sent by default: every kind (kv-node has had the admission fix since issue 23). */
export const defaultPoisonKinds: readonly PoisonKind[] = allPoisonKinds;
