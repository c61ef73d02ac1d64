/**
 * Writes and linearizable reads as the routes use them: with a deadline, metrics, and the
 * idempotent receiver's outcomes turned into responses.
 */

import type { AuthApplyResult, AuthCommand } from '../auth/auth-command.js';
import { authError } from '../auth/auth-errors.js';
import type { LeaseApplyResult, LeaseCommand } from '../lease/lease-command.js';
import { leaseError } from '../lease/lease-errors.js';
import type { KvCommand } from '../codec/command-codec.js';
import type { CommandResult } from '../store/idempotency-table.js';
import type { MaintenanceCommand, MaintenanceResult } from '../store/maintenance-command.js';
import { hasUnreadResult } from '../store/idempotency-table.js';
import type { ApiContext } from './api-context.js';
import { ApiError, GrpcCode, badRequest, indeterminate, unavailable } from './api-error.js';
import type { Exchange } from './exchange.js';
import { SharedDeadlines } from './shared-deadlines.js';
import { noSpace, quotaRefusal } from './quota-admission.js';
import { revisionApiError } from './revision-api-errors.js';
import { CompactedRevisionError, FutureRevisionError } from '../store/revision-errors.js';

/** Longest accepted `Idempotency-Key`. */
const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

/** One set of shared deadlines per API (they all have the context's operation timeout). */
const deadlinesOf = new WeakMap<ApiContext, SharedDeadlines>();

/**
 * Resolves or rejects like `promise`, or rejects with `onTimeout()` once the operation timeout
 * has passed (at most a tenth of it later; see {@link SharedDeadlines}).
 */
function withDeadline<T>(
  context: ApiContext,
  promise: Promise<T>,
  onTimeout: () => Error,
): Promise<T> {
  let deadlines = deadlinesOf.get(context);
  if (deadlines === undefined) {
    deadlines = new SharedDeadlines(context.timers, context.operationTimeoutMs);
    deadlinesOf.set(context, deadlines);
  }
  const shared = deadlines;
  return new Promise<T>((resolve, reject) => {
    const cancel = shared.start(() => reject(onTimeout()));
    promise.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (error: unknown) => {
        cancel();
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * The request id for the idempotent receiver, from the `Idempotency-Key` header.
 *
 * @throws ApiError (400) if the header is empty, too long or not printable ASCII.
 */
export function idempotencyKey(exchange: Exchange): string | undefined {
  const value = exchange.header('idempotency-key');
  if (value === undefined) return undefined;
  if (
    value.length === 0 ||
    value.length > MAX_IDEMPOTENCY_KEY_LENGTH ||
    !/^[\x21-\x7e]+$/.test(value)
  ) {
    throw badRequest(
      `Idempotency-Key must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`,
      'Idempotency-Key',
    );
  }
  return value;
}

/** Where {@link replicateWrite} marks a replayed retry (an HTTP exchange's response headers). */
export interface ReplayMarker {
  readonly response: { setHeader(name: string, value: string): unknown };
}

/**
 * Replicates a write and returns its result. Marks a replayed retry with the
 * `Idempotent-Replayed: true` response header.
 *
 * @throws ApiError 503 (definitely not applied), 504 (outcome unknown), 422 (idempotency key
 *   reused for a different request).
 */
export async function replicateWrite(
  context: ApiContext,
  exchange: ReplayMarker,
  command: KvCommand,
): Promise<CommandResult> {
  if (context.isShuttingDown()) throw unavailable('this node is shutting down', 'shutting_down');
  const metrics = context.metrics;
  metrics.proposalsPending.inc();
  // etcd counts a proposal as failed when consensus did not answer it (timeout, no leader,
  // shutdown), not when admission (quota) or the state machine (auth, lease) refused it.
  let proposed = false;
  let answered = false;
  try {
    const refusal = quotaRefusal(context, command);
    if (refusal !== undefined) {
      if (refusal !== null) await replicateMaintenance(context, refusal);
      throw noSpace();
    }
    proposed = true;
    const outcome = await withDeadline(context, context.backend.write(command), () =>
      indeterminate('etcdserver: request timed out'),
    );
    answered = true;
    if (outcome.status === 'refused') {
      if (outcome.reason === 'no_space') throw noSpace();
      throw revisionApiError(
        outcome.reason === 'compacted'
          ? new CompactedRevisionError(0, 0)
          : new FutureRevisionError(0),
      ) as ApiError;
    }
    if (outcome.status === 'maintenance') {
      throw new Error('a key-value write was answered as maintenance');
    }
    if (outcome.status === 'rejected') {
      throw new ApiError(
        `Idempotency-Key "${outcome.requestId}" was already used for a different request`,
        {
          reason: 'idempotency_key_reused',
          status: 422,
          grpcCode: GrpcCode.failedPrecondition,
          definite: true,
          field: 'Idempotency-Key',
        },
      );
    }
    // Refused by the permission check on apply (the auth state changed since the gateway's check).
    if (outcome.status === 'auth') throw authError(outcome.result.error ?? 'permissionDenied');
    // Refused on apply for its lease (missing, or full): nothing applied.
    if (outcome.status === 'lease') {
      throw leaseError(outcome.result.error ?? 'leaseNotFound');
    }
    if (outcome.status === 'replayed') exchange.response.setHeader('idempotent-replayed', 'true');
    metrics.proposalsCommitted.inc();
    if (hasUnreadResult(outcome.result)) throw readsNotReturned(outcome.status, outcome.result);
    return outcome.result;
  } catch (error) {
    const reason = error instanceof ApiError ? error.details.reason : 'internal';
    // A rejected key reuse changed nothing, and reads_not_returned was applied (and counted).
    if (reason !== 'idempotency_key_reused' && reason !== 'reads_not_returned') {
      metrics.proposalsFailed.inc({ reason });
    }
    if (proposed && !answered) metrics.etcd.proposalsFailed.inc();
    if (error instanceof ApiError) throw error;
    // Unknown failure while a write was in flight: it may have been applied.
    context.logger.error({ err: error }, 'write failed');
    throw new ApiError(`internal error: ${(error as Error).message}`, {
      reason: 'internal',
      status: 500,
      grpcCode: GrpcCode.internal,
      definite: false,
    });
  } finally {
    metrics.proposalsPending.dec();
  }
}

/**
 * The answer to a write that was applied but has no complete result to show: a replay of a write
 * that read something (ranges, `prev_kv`: the idempotency table never keeps what a write read)
 * or a transaction whose ranges outgrew the read budget between admission and apply. Never an
 * empty result in their place.
 */
function readsNotReturned(status: 'applied' | 'replayed', result: CommandResult): ApiError {
  const revision = result.result.revision;
  const succeeded = result.type === 'txn' ? `, succeeded: ${String(result.result.succeeded)}` : '';
  const why =
    status === 'replayed'
      ? 'this request was already applied; what it read (ranges, prev_kv) is not kept for replays'
      : 'this txn was applied, but its ranges matched more than the read budget by the time it ' +
        'was applied, so their results are not returned';
  return new ApiError(
    `${why} (revision ${revision}${succeeded}): read the keys again with a range request`,
    {
      reason: 'reads_not_returned',
      status: 409,
      grpcCode: GrpcCode.failedPrecondition,
      // Applied (not "maybe"): the client must read, not retry blindly.
      definite: false,
    },
  );
}

/**
 * Passes the read barrier: waits until a read of the local store is linearizable.
 *
 * @throws ApiError 503 when that cannot be established in time (a read changes nothing, so a
 *   failed read is always definite).
 */
export async function readBarrier(context: ApiContext): Promise<void> {
  if (context.isShuttingDown()) throw unavailable('this node is shutting down', 'shutting_down');
  try {
    await withDeadline(context, context.backend.readBarrier(), () =>
      unavailable('etcdserver: request timed out waiting for a read barrier'),
    );
  } catch (error) {
    if (error instanceof ApiError) {
      // Reads never have an unknown outcome.
      if (error.details.definite) throw error;
      throw unavailable(error.message);
    }
    throw unavailable(`read barrier failed: ${(error as Error).message}`);
  }
}

/**
 * Replicates an auth command and returns its result (which may name an auth error: the caller
 * turns it into etcd's response).
 *
 * @throws ApiError 503 (definitely not applied), 504 (outcome unknown).
 */
export async function replicateAuth(
  context: ApiContext,
  command: AuthCommand,
  user: string | undefined,
): Promise<AuthApplyResult> {
  if (context.isShuttingDown()) throw unavailable('this node is shutting down', 'shutting_down');
  const outcome = await withDeadline(
    context,
    context.backend.write({
      type: 'auth',
      request: command,
      ...(user === undefined ? {} : { user }),
    }),
    () => indeterminate('etcdserver: request timed out'),
  );
  if (outcome.status !== 'auth')
    throw new Error(`an auth command was answered as ${outcome.status}`);
  return outcome.result;
}

/**
 * Replicates a lease grant or revoke and returns its result (which may name a lease error: the
 * caller turns it into etcd's response).
 *
 * @throws ApiError 503 (definitely not applied), 504 (outcome unknown), 403 when the auth check
 *   on apply refused it.
 */
export async function replicateLease(
  context: ApiContext,
  command: LeaseCommand,
  user: string | undefined,
): Promise<LeaseApplyResult> {
  if (context.isShuttingDown()) throw unavailable('this node is shutting down', 'shutting_down');
  const outcome = await withDeadline(
    context,
    context.backend.write({
      type: 'lease',
      request: command,
      ...(user === undefined ? {} : { user }),
    }),
    () => indeterminate('etcdserver: request timed out'),
  );
  if (outcome.status === 'auth') throw authError(outcome.result.error ?? 'permissionDenied');
  if (outcome.status !== 'lease') {
    throw new Error(`a lease command was answered as ${outcome.status}`);
  }
  return outcome.result;
}

/**
 * Replicates a maintenance command (compaction, alarm) and returns its result, the same on every
 * member.
 *
 * @throws ApiError 503 (definitely not applied), 504 (outcome unknown).
 */
export async function replicateMaintenance(
  context: ApiContext,
  command: MaintenanceCommand,
): Promise<MaintenanceResult> {
  if (context.isShuttingDown()) throw unavailable('this node is shutting down', 'shutting_down');
  const outcome = await withDeadline(
    context,
    context.backend.write({ type: 'maintenance', request: command }),
    () => indeterminate('etcdserver: request timed out'),
  );
  if (outcome.status !== 'maintenance') {
    throw new Error(`a maintenance command was answered as ${outcome.status}`);
  }
  return outcome.result;
}
