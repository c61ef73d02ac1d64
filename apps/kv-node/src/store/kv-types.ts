/**
 * The key-value model, in etcd's terms: requests and results of the store, independent of any wire
 * format. Keys and values are byte strings (see `byte-string.ts`).
 */

import type { ByteString } from './byte-string.js';

/** One stored key with its metadata, as a range returns it. */
export interface KeyValue {
  key: ByteString;
  /** Empty when the range asked for keys only. */
  value: ByteString;
  /** Revision of the put that created the key (since its last delete). */
  createRevision: number;
  /** Revision of the last put to the key. */
  modRevision: number;
  /** Number of puts since the key was created; 1 after the first. */
  version: number;
  /**
   * The lease the key is attached to (a decimal int64, see `lease/lease-id.ts`), when shown to a
   * client; the store itself never sets it (the lease table in `lease/` knows attachments).
   */
  lease?: string;
}

/** Order of a range's results. */
export type SortOrder = 'none' | 'ascend' | 'descend';
/** Field a range's results are sorted by. */
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';

/**
 * A read of one key or a key range.
 *
 * `rangeEnd` empty: just `key`. `rangeEnd` `"\0"`: every key `>= key`. Otherwise `[key, rangeEnd)`.
 */
export interface RangeRequest {
  key: ByteString;
  rangeEnd: ByteString;
  /** Most keys to return; 0 for no limit. */
  limit: number;
  keysOnly: boolean;
  countOnly: boolean;
  sortOrder: SortOrder;
  sortTarget: SortTarget;
  /** Filters on revisions; 0 disables each. */
  minModRevision: number;
  maxModRevision: number;
  minCreateRevision: number;
  maxCreateRevision: number;
  /**
   * Read the state as of this revision (a range inside a transaction; top-level reads pass it to
   * `KvStore.range` instead). Absent or 0: the current state.
   */
  revision?: number;
}

/** Result of a range. */
export interface RangeResult {
  kvs: KeyValue[];
  /** Whether keys beyond the limit matched. */
  more: boolean;
  /** Number of keys in the range (before limit and filters, as etcd counts). */
  count: number;
  /** Store revision the read observed. */
  revision: number;
}

/**
 * A range's answer with its key-values materialized one at a time, on demand: what lets a big
 * answer be encoded a slice at a time. It is fixed when taken (later writes do not change it).
 */
export interface RangeView {
  /** Number of key-values in the answer. */
  readonly length: number;
  /** The key-value at `index` (0 to `length - 1`), in answer order. */
  keyValue(index: number): KeyValue;
  /** Whether keys beyond the limit matched. */
  readonly more: boolean;
  /** Number of keys in the range (before limit and filters, as etcd counts). */
  readonly count: number;
  /** Store revision the read observed. */
  readonly revision: number;
}

/** A materialized result seen as a {@link RangeView}. */
export function rangeViewOf(result: RangeResult): RangeView {
  return {
    length: result.kvs.length,
    keyValue: (index) => result.kvs[index] as KeyValue,
    more: result.more,
    count: result.count,
    revision: result.revision,
  };
}

/** Sets a key's value. */
export interface PutRequest {
  key: ByteString;
  value: ByteString;
  /** Return the key's previous value. */
  prevKv: boolean;
  /**
   * The lease to attach the key to (a decimal int64, never `"0"`); absent: none, and the key is
   * detached from any lease it had. The store ignores it; the state machine's lease table keeps
   * the attachment (see `lease/`).
   */
  lease?: string;
}

/** Result of a put. */
export interface PutResult {
  prevKv?: KeyValue;
  /**
   * Set where the previous key-value was read but is not kept (the idempotency table keeps what
   * a write did, never what it read): there was one, and `prevKv` is absent. Never shown to a
   * client as "no previous key".
   */
  prevNotRead?: true;
  /** Store revision after the put. */
  revision: number;
}

/** Deletes one key or a key range (same `rangeEnd` rules as {@link RangeRequest}). */
export interface DeleteRangeRequest {
  key: ByteString;
  rangeEnd: ByteString;
  /** Return the deleted keys and their values. */
  prevKv: boolean;
}

/** Result of a delete. */
export interface DeleteRangeResult {
  deleted: number;
  prevKvs: KeyValue[];
  /** Set where deleted key-values were read but are not kept (see {@link PutResult}). */
  prevNotRead?: true;
  /** Store revision after the delete (unchanged when nothing was deleted). */
  revision: number;
}

/** Field a transaction comparison reads. */
export type CompareTarget = 'version' | 'create' | 'mod' | 'value' | 'lease';
/** How a comparison relates the stored field (left) to the operand (right). */
export type CompareResult = 'equal' | 'not_equal' | 'greater' | 'less';

/** One guard of a transaction; with a `rangeEnd` every key in the range must satisfy it. */
export type Compare =
  | {
      target: 'version' | 'create' | 'mod';
      result: CompareResult;
      key: ByteString;
      rangeEnd: ByteString;
      operand: number;
    }
  | {
      target: 'value';
      result: CompareResult;
      key: ByteString;
      rangeEnd: ByteString;
      operand: ByteString;
    }
  | {
      /** The lease a key is attached to (`"0"` for none, and for a missing key, as in etcd). */
      target: 'lease';
      result: CompareResult;
      key: ByteString;
      rangeEnd: ByteString;
      /** A canonical decimal int64 (see `lease/lease-id.ts`). */
      operand: string;
    };

/** One operation of a transaction branch. */
export type RequestOp =
  | { type: 'range'; request: RangeRequest }
  | { type: 'put'; request: PutRequest }
  | { type: 'deleteRange'; request: DeleteRangeRequest }
  | { type: 'txn'; request: TxnRequest };

/**
 * Result of one transaction operation. `rangeNotRead` stands for a range of a write transaction
 * whose result was not materialized: on a member no client waits on, in the idempotency table
 * (which never keeps what a write read), or once the transaction's read budget ran out at apply.
 * It carries no keys and must never be shown to a client as if it were an (empty) result.
 */
export type ResponseOp =
  | { type: 'range'; result: RangeResult }
  | { type: 'rangeNotRead'; revision: number }
  | { type: 'put'; result: PutResult }
  | { type: 'deleteRange'; result: DeleteRangeResult }
  | { type: 'txn'; result: TxnResult };

/** If every comparison holds, apply `success`, else `failure`; atomically, at one revision. */
export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

/** Result of a transaction. */
export interface TxnResult {
  succeeded: boolean;
  responses: ResponseOp[];
  /** Store revision after the transaction. */
  revision: number;
}

/**
 * Whether operations add data: a put at any depth, in either branch of a nested transaction
 * (what etcd's quota and NOSPACE alarm refuse).
 */
export function opsAddData(ops: readonly RequestOp[]): boolean {
  return ops.some(
    (op) =>
      op.type === 'put' ||
      (op.type === 'txn' && (opsAddData(op.request.success) || opsAddData(op.request.failure))),
  );
}

/** A default range request for `key` (one key), to spread overrides onto. */
export function rangeRequest(key: ByteString, overrides: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key,
    rangeEnd: '',
    limit: 0,
    keysOnly: false,
    countOnly: false,
    sortOrder: 'none',
    sortTarget: 'key',
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...overrides,
  };
}
