/**
 * What every kv-node bench takes from its environment the same way: the kv-node entry point its
 * members run (BENCH_KV_NODE_CLI, default the build's `dist/cli.js`), the node flags they get
 * (BENCH_KV_NODE_FLAGS, space-separated, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), and the
 * load generator's script beside the bench (`kv-bench.js`, built with it into `dist-bench/`).
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
