import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** kv-node's built CLI: `CHAOS_KV_NODE_CLI`, or apps/kv-node/dist/cli.js. */
export const kvNodeCli =
  process.env.CHAOS_KV_NODE_CLI ??
  fileURLToPath(new URL('../../kv-node/dist/cli.js', import.meta.url));

/** Whether the real-cluster suites should run: asked for with CHAOS_SUITE=1 and kv-node built. */
export const suiteEnabled = process.env.CHAOS_SUITE === '1';

/** Whether kv-node is built and its --help lists `flag`. */
export function kvNodeHasFlag(flag: string): boolean {
  if (!existsSync(kvNodeCli)) return false;
  try {
    return execFileSync(process.execPath, [kvNodeCli, '--help'], { encoding: 'utf8' }).includes(
      flag,
    );
  } catch {
    return false;
  }
}
