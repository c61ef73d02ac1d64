/**
 * kv-node's state backend (`kv-node --backend`), chosen per chaos run so the same faults and
 * checks run against each: the in-memory B+tree or the LMDB file (issue 25).
 */

/** Where kv-node keeps its key-value state: `memory` (its default) or `lmdb`. */
export type StateBackend = 'memory' | 'lmdb';

/** Every backend kv-node offers, in the order the CI suites run them. */
export const stateBackends: readonly StateBackend[] = ['memory', 'lmdb'];

/** Whether `text` names a {@link StateBackend}. */
export function isStateBackend(text: string): text is StateBackend {
  return (stateBackends as readonly string[]).includes(text);
}

/**
 * The kv-node flags that choose `backend` (none when it is not given: kv-node's default).
 *
 * @throws Error for `lmdb` in quorum mode, which keeps its keys in its own log and has no state
 *   store: the run would silently test the same thing as `memory`.
 */
export function stateBackendArgs(
  backend: StateBackend | undefined,
  quorumMode: boolean,
): readonly string[] {
  if (backend === undefined) return [];
  if (quorumMode && backend !== 'memory') {
    throw new Error(`backend ${backend}: quorum mode has no state store to put on it`);
  }
  return ['--backend', backend];
}
