import { majority } from './majority.js';
import { QuorumFailedError } from './quorum-failed-error.js';
import type { QuorumFailureReason } from './quorum-failed-error.js';
import type { NodeFailure, NodeResponse, QuorumReport } from './quorum-report.js';
import { assertQuorumSize } from './quorum-sizes.js';
import type { Timers } from './timers.js';

/** How to run a {@link quorumCall}. */
export interface QuorumCallOptions<R> {
  /** The nodes to ask, each once; distinct ids. */
  readonly nodes: readonly string[];
  /**
   * Sends the request to one node and resolves with its answer (rejects if it fails). Called
   * synchronously once per node. `signal` is aborted once the quorum call has settled, as a hint
   * that the answer is no longer needed; a call may ignore it (a write may want to finish).
   */
  readonly call: (node: string, signal: AbortSignal) => Promise<R>;
  /** How many accepted responses are needed, 1..nodes.length; default the majority of the nodes. */
  readonly quorum?: number;
  /** Whether a response counts towards the quorum (for example a granted vote); default all do. */
  readonly accept?: (response: R, node: string) => boolean;
  /** Fails the call with reason `'timeout'` after this many milliseconds (`Infinity`: never). */
  readonly timeoutMs: number;
  /** Where time comes from; virtual in simulation. */
  readonly timers: Timers;
  /** Aborting it fails the call at once with reason `'aborted'`. */
  readonly signal?: AbortSignal;
  /** What the call is for, used in error messages (default `'quorum call'`). */
  readonly operation?: string;
}

/**
 * Sends a request to every node and settles as soon as the outcome is known:
 * - resolves when `quorum` responses satisfy `accept`, without waiting for the rest;
 * - rejects with a {@link QuorumFailedError} as soon as the quorum has become impossible (too many
 *   rejections and failures for the pending nodes to make up), when `timeoutMs` passes, or when
 *   `signal` is aborted.
 *
 * Either way the {@link QuorumReport} says which nodes answered what. Answers that arrive after
 * the call settled are ignored. Used for votes, replication acknowledgements, and leaderless
 * reads and writes.
 *
 * @example
 * ```ts
 * const votes = await quorumCall({
 *   nodes: ['athens', 'byzantium', 'cyrene'],
 *   call: (node) => requestVote(node),
 *   accept: (vote) => vote.granted,
 *   timeoutMs: 1000,
 *   timers: nodeTimers,
 * });
 * ```
 *
 * @returns the report at the moment the quorum was reached.
 * @throws QuorumFailedError (as a rejection) if the quorum was not reached.
 * @throws QuorumConfigurationError (as a rejection) if `nodes` is empty or `quorum` is not an
 *   integer in 1..nodes.length.
 * @throws RangeError (as a rejection) if node ids repeat or `timeoutMs` is not positive.
 */
export function quorumCall<R>(options: QuorumCallOptions<R>): Promise<QuorumReport<R>> {
  const { call, accept, timeoutMs, timers, signal } = options;
  // A copy, so that the report names the nodes asked even if the caller's array changes meanwhile.
  const nodes = options.nodes.slice();
  const operation = options.operation ?? 'quorum call';
  // Thrown inside the executor, a configuration error becomes a rejection like any other failure.
  return new Promise<QuorumReport<R>>((resolve, reject) => {
    const required = options.quorum ?? majority(nodes.length);
    assertQuorumSize(operation, required, nodes.length);
    if (new Set(nodes).size !== nodes.length) {
      throw new RangeError(`${operation}: node ids must be distinct, got ${nodes.join(', ')}`);
    }
    if (!(timeoutMs > 0)) {
      throw new RangeError(`${operation}: timeoutMs must be positive, got ${String(timeoutMs)}`);
    }
    const accepted: NodeResponse<R>[] = [];
    const rejected: NodeResponse<R>[] = [];
    const failed: NodeFailure[] = [];
    const answered = new Set<string>();
    const callSignal = new AbortController();
    let settled = false;
    let timer: unknown;
    let timerSet = false;

    const report = (): QuorumReport<R> => ({
      required,
      accepted: accepted.slice(),
      rejected: rejected.slice(),
      failed: failed.slice(),
      pending: nodes.filter((node) => !answered.has(node)),
    });
    const finish = (): QuorumReport<R> => {
      settled = true;
      if (timerSet) timers.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const final = report();
      callSignal.abort();
      return final;
    };
    const fail = (reason: QuorumFailureReason, cause?: unknown): void => {
      const final = finish();
      reject(
        new QuorumFailedError(
          operation,
          reason,
          final,
          reason === 'aborted' ? { cause } : undefined,
        ),
      );
    };
    const judge = (): void => {
      if (accepted.length >= required) resolve(finish());
      else if (accepted.length + (nodes.length - answered.size) < required) fail('impossible');
    };
    function onAbort(): void {
      if (!settled) fail('aborted', signal?.reason);
    }

    if (signal?.aborted === true) {
      fail('aborted', signal.reason);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== Number.POSITIVE_INFINITY) {
      timer = timers.setTimeout(() => {
        if (!settled) fail('timeout');
      }, timeoutMs);
      timerSet = true;
    }

    for (const node of nodes) {
      // An async wrapper turns a synchronous throw into a rejection; the call still starts now.
      const answer = (async () => call(node, callSignal.signal))();
      answer.then(
        (response) => {
          if (settled) return;
          answered.add(node);
          let isAccepted: boolean;
          try {
            isAccepted = accept === undefined || accept(response, node);
          } catch (error) {
            failed.push({ node, error });
            judge();
            return;
          }
          (isAccepted ? accepted : rejected).push({ node, response });
          judge();
        },
        (error: unknown) => {
          if (settled) return;
          answered.add(node);
          failed.push({ node, error });
          judge();
        },
      );
    }
  });
}
