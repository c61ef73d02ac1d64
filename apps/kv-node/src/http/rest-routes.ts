/**
 * The friendly REST API for curl and browsers: raw values in bodies, ETags of mod revisions,
 * conditional writes with If-Match / If-None-Match, Idempotency-Key for safe retries.
 */

import { isUtf8 } from 'node:buffer';
import type { ByteString } from '../store/byte-string.js';
import {
  base64FromByteString,
  byteStringFromBytes,
  byteStringFromUtf8,
  bytesFromByteString,
  prefixRangeEnd,
  utf8FromByteString,
} from '../store/byte-string.js';
import type { Compare, KeyValue, TxnRequest } from '../store/kv-types.js';
import { rangeRequest } from '../store/kv-types.js';
import { asUser } from '../auth/auth-gate.js';
import type { PermissionNeed } from '../auth/request-permissions.js';
import type { ApiContext } from './api-context.js';
import { badRequest, keyNotFound, preconditionFailed, tooLarge } from './api-error.js';
import type { Exchange } from './exchange.js';
import { jsonBodySlices } from './json-body-slices.js';
import { idempotencyKey, readBarrier, replicateWrite } from './kv-operations.js';
import { sliceOptions } from './range-slicing.js';

/** Path prefix of single-key routes. */
export const REST_KEY_PREFIX = '/v1/kv/';

function etag(modRevision: number): string {
  return `"${modRevision}"`;
}

function keyFromPath(context: ApiContext, exchange: Exchange): ByteString {
  const encoded = exchange.rawPath.slice(REST_KEY_PREFIX.length);
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    throw badRequest('key is not valid percent-encoded UTF-8', 'key');
  }
  const key = byteStringFromUtf8(text);
  if (key.length === 0) throw badRequest('key is empty', 'key');
  if (key.length > context.limits.maxKeyBytes) {
    throw tooLarge(`key is ${key.length} bytes; the limit is ${context.limits.maxKeyBytes}`, 'key');
  }
  return key;
}

async function readConsistently(context: ApiContext, exchange: Exchange): Promise<void> {
  const consistency = exchange.url.searchParams.get('consistency') ?? 'linearizable';
  if (consistency === 'linearizable') await readBarrier(context);
  else if (consistency !== 'serializable') {
    throw badRequest('consistency must be linearizable or serializable', 'consistency');
  }
}

/** Parses an ETag list entry ("7", W/"7" or 7) into a mod revision. */
function revisionFromEtag(value: string, header: string): number {
  const match = /^(?:W\/)?"?(\d{1,16})"?$/.exec(value.trim());
  const revision = match === null ? Number.NaN : Number(match[1]);
  // 16 digits can exceed 2^53: such a number must not reach the replicated command's encoding.
  if (!Number.isSafeInteger(revision)) {
    throw badRequest(`${header} must be an ETag such as "42" or *`, header);
  }
  return revision;
}

/** The comparisons an If-Match / If-None-Match header pair asks for. */
function preconditions(exchange: Exchange, key: ByteString): Compare[] {
  const compares: Compare[] = [];
  const ifMatch = exchange.header('if-match');
  const ifNoneMatch = exchange.header('if-none-match');
  if (ifMatch !== undefined) {
    compares.push(
      ifMatch.trim() === '*'
        ? { target: 'version', result: 'greater', key, rangeEnd: '', operand: 0 }
        : {
            target: 'mod',
            result: 'equal',
            key,
            rangeEnd: '',
            operand: revisionFromEtag(ifMatch, 'If-Match'),
          },
    );
  }
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') {
      throw badRequest('If-None-Match on a write must be *', 'If-None-Match');
    }
    compares.push({ target: 'version', result: 'equal', key, rangeEnd: '', operand: 0 });
  }
  return compares;
}

/**
 * What a REST write of `key` needs: write and read access. Its txn compares or reads the key
 * (to answer 201 or 200, 404, or the current ETag on 412), and etcd's rules make that a read.
 */
function writeNeeds(key: ByteString): PermissionNeed[] {
  return [
    { access: 'write', key, rangeEnd: '' },
    { access: 'read', key, rangeEnd: '' },
  ];
}

function failedPrecondition(exchange: Exchange, current: KeyValue | undefined): never {
  if (current !== undefined) exchange.response.setHeader('etag', etag(current.modRevision));
  throw preconditionFailed(
    current === undefined
      ? 'precondition failed: the key does not exist'
      : `precondition failed: the key's current ETag is ${etag(current.modRevision)}`,
  );
}

/** GET /v1/kv/{key}: the raw value, 404 if absent. */
export async function restGet(context: ApiContext, exchange: Exchange): Promise<void> {
  const key = keyFromPath(context, exchange);
  await readConsistently(context, exchange);
  context.auth.authorize(context.backend.auth, exchange, () => [
    { access: 'read', key, rangeEnd: '' },
  ]);
  const result = context.backend.store.range(rangeRequest(key));
  const kv = result.kvs[0];
  if (kv === undefined) throw keyNotFound();
  const headers = {
    etag: etag(kv.modRevision),
    'x-kv-revision': String(result.revision),
    'x-kv-create-revision': String(kv.createRevision),
    'x-kv-mod-revision': String(kv.modRevision),
    'x-kv-version': String(kv.version),
  };
  const ifNoneMatch = exchange.header('if-none-match');
  if (
    ifNoneMatch !== undefined &&
    ifNoneMatch.split(',').some((tag) => tag.trim() === etag(kv.modRevision))
  ) {
    exchange.send(304, '', headers);
    return;
  }
  exchange.send(200, bytesFromByteString(kv.value), {
    ...headers,
    'content-type': 'application/octet-stream',
  });
}

/**
 * PUT /v1/kv/{key}: sets the raw body as the value. 201 when it created the key, 200 when it
 * replaced it, 412 when a precondition failed.
 */
export async function restPut(context: ApiContext, exchange: Exchange): Promise<void> {
  const key = keyFromPath(context, exchange);
  const requestId = idempotencyKey(exchange);
  const compares = preconditions(exchange, key);
  const body = await exchange.readRaw(context.limits.maxRequestBytes);
  if (body.length > context.limits.maxValueBytes) {
    throw tooLarge(
      `value is ${body.length} bytes; the limit is ${context.limits.maxValueBytes}`,
      'value',
    );
  }
  const user = context.auth.authorize(context.backend.auth, exchange, () => writeNeeds(key));
  const value = byteStringFromBytes(body);
  const put = { type: 'put' as const, request: { key, value, prevKv: false } };
  const existing = { type: 'range' as const, request: rangeRequest(key, { keysOnly: true }) };
  // Unconditional: the comparison only tells a create (201) from a replace (200).
  const request: TxnRequest =
    compares.length === 0
      ? {
          compare: [{ target: 'version', result: 'equal', key, rangeEnd: '', operand: 0 }],
          success: [put],
          failure: [put],
        }
      : { compare: compares, success: [put], failure: [existing] };
  const outcome = await replicateWrite(context, exchange, {
    type: 'txn',
    request,
    ...(requestId === undefined ? {} : { requestId }),
    ...asUser(user),
  });
  if (outcome.type !== 'txn') throw new Error(`put answered with ${outcome.type}`);
  const result = outcome.result;
  if (compares.length > 0 && !result.succeeded) {
    const current = result.responses[0];
    failedPrecondition(exchange, current?.type === 'range' ? current.result.kvs[0] : undefined);
  }
  // With preconditions, only If-None-Match: * (create-only) can have created the key.
  const created =
    compares.length === 0 ? result.succeeded : exchange.header('if-none-match') !== undefined;
  exchange.json(
    created ? 201 : 200,
    { revision: result.revision, created },
    { etag: etag(result.revision) },
  );
}

/** DELETE /v1/kv/{key}: 200 when deleted, 404 when absent, 412 when a precondition failed. */
export async function restDelete(context: ApiContext, exchange: Exchange): Promise<void> {
  const key = keyFromPath(context, exchange);
  const requestId = idempotencyKey(exchange);
  const compares = preconditions(exchange, key);
  await exchange.readRaw(context.limits.maxRequestBytes);
  const user = context.auth.authorize(context.backend.auth, exchange, () => writeNeeds(key));
  const remove = { type: 'deleteRange' as const, request: { key, rangeEnd: '', prevKv: false } };
  const existing = { type: 'range' as const, request: rangeRequest(key, { keysOnly: true }) };
  const outcome = await replicateWrite(context, exchange, {
    type: 'txn',
    request: { compare: compares, success: [remove], failure: [existing] },
    ...(requestId === undefined ? {} : { requestId }),
    ...asUser(user),
  });
  if (outcome.type !== 'txn') throw new Error(`delete answered with ${outcome.type}`);
  const result = outcome.result;
  const response = result.responses[0];
  if (!result.succeeded) {
    failedPrecondition(exchange, response?.type === 'range' ? response.result.kvs[0] : undefined);
  }
  if (response?.type !== 'deleteRange' || response.result.deleted === 0) throw keyNotFound();
  exchange.json(200, { revision: result.revision, deleted: response.result.deleted });
}

function textOrBase64(name: string, value: ByteString): Record<string, string> {
  const bytes = bytesFromByteString(value);
  return isUtf8(bytes)
    ? { [name]: utf8FromByteString(value) }
    : { [`${name}_base64`]: base64FromByteString(value) };
}

/** GET /v1/kv?prefix=&limit=&keys_only=: lists keys in order. */
export async function restList(context: ApiContext, exchange: Exchange): Promise<void> {
  const params = exchange.url.searchParams;
  const prefix = byteStringFromUtf8(params.get('prefix') ?? '');
  const limitText = params.get('limit') ?? '0';
  if (!/^\d{1,9}$/.test(limitText))
    throw badRequest('limit must be a non-negative integer', 'limit');
  const keysOnly = params.get('keys_only') === 'true';
  await readConsistently(context, exchange);
  const listed = {
    key: prefix === '' ? '\0' : prefix,
    rangeEnd: prefix === '' ? '\0' : prefixRangeEnd(prefix),
  };
  context.auth.authorize(context.backend.auth, exchange, () => [{ access: 'read', ...listed }]);
  const request = rangeRequest(listed.key, {
    rangeEnd: listed.rangeEnd,
    limit: Number(limitText),
    keysOnly,
  });
  // Taken in one synchronous turn at one revision (references to immutable strings), then
  // materialized and encoded a slice at a time: see v3Range.
  const view = context.backend.store.rangeView(request);
  // `more` follows `items` so that a cut decided while streaming can still be reported.
  const head = `{"revision":${view.revision},"count":${view.count},"items":[`;
  await exchange.streamJson(
    200,
    jsonBodySlices(
      {
        open: head,
        itemCount: view.length,
        encodeItem: (index) => {
          const kv = view.keyValue(index);
          return JSON.stringify({
            ...textOrBase64('key', kv.key),
            ...(keysOnly ? {} : textOrBase64('value', kv.value)),
            create_revision: kv.createRevision,
            mod_revision: kv.modRevision,
            version: kv.version,
          });
        },
        close: (cut) => `],"more":${view.more || cut}}`,
      },
      sliceOptions(context, request),
    ),
  );
}

/**
 * GET /v1/cluster: every member (learners too, `is_learner`), its role, generation, indexes (`commit_index` is the high-water
 * mark, `snapshot_index` the latest snapshot's index, `low_water_mark` the highest index released
 * from the log), lag, heartbeat age, and whether this node's failure detector suspects it (a
 * leader watches its followers, a follower its leader; `null` for members it does not watch).
 */
export function restCluster(context: ApiContext, exchange: Exchange): Promise<void> {
  const status = context.backend.status();
  exchange.json(200, {
    cluster_id: status.clusterId,
    member_id: status.memberId,
    name: status.name,
    role: status.role,
    leader_id: status.leaderId ?? null,
    generation: status.generation,
    last_log_index: status.lastLogIndex,
    commit_index: status.highWaterMark,
    applied_index: status.appliedIndex,
    snapshot_index: status.snapshotIndex,
    low_water_mark: status.lowWaterMark,
    failure_detector: status.failureDetector ?? null,
    revision: context.backend.store.revision,
    keys: context.backend.store.size,
    members: status.members.map((member) => ({
      id: member.id,
      name: member.name,
      role: member.role,
      // A learner receives the log but never votes (etcd's `isLearner`).
      is_learner: member.isLearner === true,
      peer_urls: member.peerUrls,
      client_urls: member.clientUrls,
      match_index: member.matchIndex ?? null,
      lag: member.lag ?? null,
      last_contact_ago_ms: member.lastContactAgoMs ?? null,
      suspected: member.suspected ?? null,
      phi: member.phi ?? null,
    })),
  });
  return Promise.resolve();
}
