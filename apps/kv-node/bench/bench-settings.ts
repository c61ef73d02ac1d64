/**
 * What every kv-node bench takes from its environment the same way: the kv-node entry point its
 * members run (BENCH_KV_NODE_CLI, default the build's `dist/cli.js`), the node flags they get
 * (BENCH_KV_NODE_FLAGS, space-separated, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), and the
 * load generator's script beside the bench (`kv-bench.js`, built with it into `dist-bench/`),
 * and the memory limit each member of a bench cluster runs under (MEMBER_MEMORY_LIMIT_MB, none by
 * default; see `member-memory-limit.ts`).
 */

import { fileURLToPath } from 'node:url';

/** The kv-node entry point the bench's members run. */
export const kvNodeCli =
  process.env.BENCH_KV_NODE_CLI ?? fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** Node flags for kv-node's members (BENCH_KV_NODE_FLAGS), none by default. */
export const kvNodeFlags: readonly string[] = (process.env.BENCH_KV_NODE_FLAGS ?? '')
  .split(' ')
  .filter((flag) => flag !== '');

/** The load generator (`kv-bench.ts`, built beside the bench). */
export const kvBenchScript = fileURLToPath(new URL('./kv-bench.js', import.meta.url));

/** Each bench cluster member's own memory limit in MiB (MEMBER_MEMORY_LIMIT_MB), if set. */
export const memberMemoryLimitMb: number | undefined = positiveOrUndefined(
  process.env.MEMBER_MEMORY_LIMIT_MB,
);

function positiveOrUndefined(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`MEMBER_MEMORY_LIMIT_MB must be a positive whole number of MiB, not ${text}`);
  }
  return value;
}
