/**
 * The leader's admission check of a write, run before the write is proposed: what enters the log
 * is applied on every member, forever (on restart and by every member that replays it), so its
 * cost is bounded here, against the leader's current state, and not discovered at apply.
 */

import { decodeCommand, isTxnCommand } from '../codec/command-codec.js';
import { ApiError, GrpcCode } from '../http/api-error.js';
import type { KvStore } from '../store/kv-store.js';
import type { TxnReadLimits } from '../store/txn-read-budget.js';
import { TxnReadBudget } from '../store/txn-read-budget.js';

/** Checks one encoded write command; throws when it must not enter the log. */
export type WriteAdmission = (command: Uint8Array) => void;

/**
 * An admission check that refuses a write transaction whose ranges and range comparisons (both
 * branches, every nesting level, evaluated against `store` now) would visit more than
 * `limits.maxKeys` keys or materialize more than `limits.maxBytes` key and value bytes. Its cost is bounded by the same
 * limits: evaluation stops as soon as the budget is exceeded. Puts and deletes pass unchecked.
 *
 * @throws ApiError 400 `txn_reads_too_large` (definite: nothing entered the log).
 */
export function txnReadAdmission(store: KvStore, limits: TxnReadLimits): WriteAdmission {
  return (command) => {
    if (!isTxnCommand(command)) return;
    const decoded = decodeCommand(command).command;
    if (decoded.type !== 'txn') return;
    const budget = new TxnReadBudget(limits);
    store.chargeTxnReads(decoded.request, budget);
    if (!budget.exceeded) return;
    const over =
      budget.keys > limits.maxKeys
        ? `visit more than ${limits.maxKeys} keys (--max-txn-read-keys)`
        : `read more than ${limits.maxBytes} bytes (--max-txn-read-bytes)`;
    throw new ApiError(
      `the ranges and range comparisons of this write txn would ${over}; a write txn is ` +
        'applied on every member, so what it reads is bounded: read with a separate range ' +
        'request or a read-only txn, and compare single keys',
      {
        reason: 'txn_reads_too_large',
        status: 400,
        grpcCode: GrpcCode.invalidArgument,
        definite: true,
      },
    );
  };
}
