/**
 * `kv-node snapshot restore <file> --data-dir ... --name ... --initial-cluster ...`: a new
 * member's data directory from a backup, like `etcdctl snapshot restore` (see
 * `node/restore-backup.ts`). It takes the node's own flags (and `ETCD_*` variables and config
 * file), so the directory is stamped with the very cluster and member identity the member computes
 * when it starts with the same flags.
 */

import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/config-error.js';
import { resolveConfig } from '../config/node-config.js';
import { RestoreError, restoreBackup } from '../node/restore-backup.js';
import type { CliEnvironment } from './cli-main.js';

/** Exit code for a restore that failed (a bad file, a used data directory). */
const EXIT_FAILED = 1;
/** Exit code for invalid usage (as `cli-main.ts`'s). */
const EXIT_USAGE = 2;

const USAGE =
  'usage: kv-node snapshot restore <file> --data-dir <dir> --name <name> ' +
  '--initial-cluster <name=peer-url,...> [--initial-cluster-token <token>] [other node flags]\n';

/** Runs `kv-node snapshot ...` with the arguments after `snapshot`; resolves with the exit code. */
export async function snapshotCommand(
  environment: Pick<CliEnvironment, 'env' | 'stdout' | 'stderr'>,
  argv: readonly string[],
): Promise<number> {
  if (argv[0] !== 'restore') {
    environment.stderr.write(`kv-node snapshot: unknown subcommand "${argv[0] ?? ''}"; ${USAGE}`);
    return EXIT_USAGE;
  }
  let result;
  try {
    result = resolveConfig({
      argv: argv.slice(1),
      env: environment.env,
      readFile: (path) => readFileSync(path, 'utf8'),
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    environment.stderr.write(`kv-node snapshot restore: invalid configuration: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (result.kind !== 'config') {
    environment.stdout.write(USAGE);
    return 0;
  }
  if (result.positionals.length !== 1) {
    environment.stderr.write(`kv-node snapshot restore: name one snapshot file; ${USAGE}`);
    return EXIT_USAGE;
  }
  const config = result.config;
  if (config.replication !== 'leader') {
    environment.stderr.write(
      'kv-node snapshot restore: only leader-follower members (the default --replication) restore a snapshot\n',
    );
    return EXIT_USAGE;
  }
  const file = result.positionals[0] as string;
  try {
    const restored = await restoreBackup(file, config.dataDir, {
      clusterId: config.clusterId,
      memberId: config.memberId,
      name: config.name,
    });
    environment.stdout.write(
      `restored ${file} into ${config.dataDir} for member ${config.name} ` +
        `(revision ${restored.revision}, ${restored.keys} keys, ${restored.leases} leases); ` +
        'start every restored member with the same --initial-cluster\n',
    );
    return 0;
  } catch (error) {
    if (!(error instanceof RestoreError)) throw error;
    environment.stderr.write(`kv-node snapshot restore: ${error.message}\n`);
    return EXIT_FAILED;
  }
}
