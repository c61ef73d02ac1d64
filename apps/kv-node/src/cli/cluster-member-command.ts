/**
 * `kv-node cluster add | remove <name> | replace <name>`: membership changes of a local cluster
 * that `kv-node cluster` runs in another terminal. The launcher runs the member processes, so
 * the command asks it, through the same route its dashboard's buttons use (on 127.0.0.1, at the
 * dashboard port: `--base-port` − 1), and prints its answer once the change is complete.
 */

import { parseArgs } from 'node:util';
import type { CliEnvironment } from './cli-main.js';

/** The changes the command makes. */
const ACTIONS = new Set(['add', 'remove', 'replace']);

/** Usage of the subcommands, printed with `--help` and after a usage error. */
export const CLUSTER_MEMBER_USAGE = `Usage:
  kv-node cluster add [--base-port 2379]            add a member (learner, catch up, promote)
  kv-node cluster remove <name> [--base-port 2379]  remove a member (its data is deleted)
  kv-node cluster replace <name> [--base-port 2379] remove it, delete its data, add a fresh one

They act on the local cluster that \`kv-node cluster --base-port <port>\` runs (same --base-port).
With client auth on, pass an admin's token: --token <token> (from POST /v3/auth/authenticate).
`;

/** Whether `argv` (after `cluster`) is one of these subcommands. */
export function isClusterMemberCommand(argv: readonly string[]): boolean {
  return ACTIONS.has(argv[0] ?? '');
}

/** Runs the subcommand; resolves with the exit code (0 done, 1 refused or failed, 2 usage). */
export async function clusterMemberCommand(
  environment: CliEnvironment,
  argv: readonly string[],
): Promise<number> {
  const usage = (message: string): number => {
    environment.stderr.write(`kv-node cluster: ${message}\n${CLUSTER_MEMBER_USAGE}`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        'base-port': { type: 'string', default: '2379' },
        token: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    environment.stdout.write(CLUSTER_MEMBER_USAGE);
    return 0;
  }
  const [action, name, ...rest] = positionals as [string, string | undefined, ...string[]];
  if (rest.length > 0) return usage(`unexpected argument "${rest[0]}"`);
  if (action === 'add' && name !== undefined) return usage('add takes no member name');
  if (action !== 'add' && name === undefined) return usage(`${action} needs a member name`);
  const basePort = Number(values['base-port']);
  if (!Number.isInteger(basePort) || basePort < 2 || basePort > 65535) {
    return usage('--base-port must be a port number');
  }
  const url = `http://127.0.0.1:${basePort - 1}/ui/api/members/${action}`;
  environment.stdout.write(
    action === 'add'
      ? 'adding a member...\n'
      : `${action === 'remove' ? 'removing' : 'replacing'} ${name}...\n`,
  );
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(values.token === undefined ? {} : { authorization: values.token }),
      },
      body: JSON.stringify(name === undefined ? {} : { node: name }),
      // An added member may take a while to catch up before its promotion.
      signal: AbortSignal.timeout(300_000),
    });
  } catch (error) {
    environment.stderr.write(
      `kv-node cluster: no local cluster answers at ${url} (${(error as Error).message}); ` +
        'start one with `kv-node cluster` and give the same --base-port\n',
    );
    return 1;
  }
  const answer = (await response.json().catch(() => ({}))) as { ok?: boolean; message?: string };
  const message = answer.message ?? `HTTP ${response.status}`;
  if (response.ok && answer.ok === true) {
    environment.stdout.write(`${message}\n`);
    return 0;
  }
  environment.stderr.write(`kv-node cluster: ${message}\n`);
  return 1;
}
