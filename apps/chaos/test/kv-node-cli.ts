import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { StateBackend } from '../src/state-backend.js';
import { isStateBackend, stateBackends } from '../src/state-backend.js';

/** kv-node's built CLI: `CHAOS_KV_NODE_CLI`, or apps/kv-node/dist/cli.js. */
export const kvNodeCli =
  process.env.CHAOS_KV_NODE_CLI ??
  fileURLToPath(new URL('../../kv-node/dist/cli.js', import.meta.url));

/** Whether the real-cluster suites should run: asked for with CHAOS_SUITE=1 and kv-node built. */
export const suiteEnabled = process.env.CHAOS_SUITE === '1';

/**
 * The state backend the leader-mode suites run kv-node on: `CHAOS_BACKEND` (`memory`, the
 * default, or `lmdb`, to run the whole suite on LMDB by hand; CI runs it on memory and
 * `lmdb-backend-chaos.test.ts` on LMDB).
 */
export const suiteBackend: StateBackend = backendFromEnvironment(process.env.CHAOS_BACKEND);

function backendFromEnvironment(text: string | undefined): StateBackend {
  if (text === undefined || text === '') return 'memory';
  if (!isStateBackend(text)) {
    throw new Error(`CHAOS_BACKEND: "${text}" is not ${stateBackends.join(' or ')}`);
  }
  return text;
}

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

/**
 * Whether kv-node's peer transport authenticates every frame after the handshake (issue 23:
 * `@x/transport-tcp` protocol 2 seals frames with an AEAD). Read from the `@x/transport-tcp`
 * that kv-node resolves; false if it cannot be loaded. Before it, tampering on a peer link
 * changes stored values, so the link-tamper fault is expected to fail the checks.
 */
export async function peerFramesAuthenticated(): Promise<boolean> {
  try {
    const fromKvNode = createRequire(new URL('../../kv-node/package.json', import.meta.url));
    const transport = (await import(
      pathToFileURL(fromKvNode.resolve('@x/transport-tcp')).href
    )) as {
      PROTOCOL_VERSION?: number;
    };
    return (transport.PROTOCOL_VERSION ?? 0) >= 2;
  } catch {
    return false;
  }
}
