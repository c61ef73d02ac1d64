/**
 * The `kv-node` command: parses the command line and runs a node, a local cluster, or prints
 * help or the version. Returns the process exit code instead of exiting, so it can be tested.
 */

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config-error.js';
import { helpText } from '../config/help-text.js';
import { resolveConfig } from '../config/node-config.js';
import type { NodeConfig } from '../config/node-config.js';
import { VERSION } from '../version.js';
import { HostAllowlist } from '../http/host-allowlist.js';
import { clusterMemberCommand, isClusterMemberCommand } from './cluster-member-command.js';
import { runLocalCluster } from './local-cluster.js';
import { snapshotCommand } from './snapshot-command.js';

/** Where the command writes, and how it runs a node (injected for tests). */
export interface CliEnvironment {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Runs a node until it is told to stop; resolves with the exit code. */
  runNode(config: NodeConfig): Promise<number>;
}

/** Exit code for invalid usage or configuration. */
export const EXIT_USAGE = 2;

async function runCluster(environment: CliEnvironment, argv: readonly string[]): Promise<number> {
  if (isClusterMemberCommand(argv)) return clusterMemberCommand(environment, argv);
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        nodes: { type: 'string', default: '3' },
        'base-port': { type: 'string', default: '2379' },
        'data-dir': { type: 'string', default: './.kv-data' },
        'log-level': { type: 'string', default: 'warn' },
        'dashboard-host-whitelist': { type: 'string' },
        replication: { type: 'string', default: 'leader' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    environment.stderr.write(`kv-node cluster: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  if (values.help) {
    environment.stdout.write(helpText());
    return 0;
  }
  const nodes = Number(values.nodes);
  const basePort = Number(values['base-port']);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) {
    environment.stderr.write('kv-node cluster: --nodes must be an integer from 1 to 9\n');
    return EXIT_USAGE;
  }
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + 10 * nodes > 65535) {
    environment.stderr.write('kv-node cluster: --base-port leaves no room for the members\n');
    return EXIT_USAGE;
  }
  if (values.replication !== 'leader' && values.replication !== 'quorum') {
    environment.stderr.write('kv-node cluster: --replication must be leader or quorum\n');
    return EXIT_USAGE;
  }
  const dashboardHosts = values['dashboard-host-whitelist']
    ?.split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (dashboardHosts !== undefined) {
    try {
      HostAllowlist.of(dashboardHosts);
    } catch (error) {
      environment.stderr.write(
        `kv-node cluster: --dashboard-host-whitelist: ${(error as Error).message}\n`,
      );
      return EXIT_USAGE;
    }
  }
  return runLocalCluster({
    nodes,
    ...(dashboardHosts === undefined ? {} : { dashboardAllowedHosts: dashboardHosts }),
    basePort,
    // Absolute, so the banner names the folder the data really lands in: `pnpm start` runs in
    // apps/kv-node/, not where the user typed the command.
    dataDir: resolve(values['data-dir']),
    cliPath: fileURLToPath(new URL('./cli.js', import.meta.url)),
    extraArgs: ['--log-level', values['log-level'], '--replication', values.replication],
    replication: values.replication,
    out: environment.stdout,
  });
}

/** Runs the command; resolves with the exit code. */
export async function cliMain(environment: CliEnvironment): Promise<number> {
  const argv = environment.argv;
  if (argv[0] === 'cluster') return runCluster(environment, argv.slice(1));
  if (argv[0] === 'snapshot') return snapshotCommand(environment, argv.slice(1));
  try {
    const result = resolveConfig({
      argv,
      env: environment.env,
      readFile: (path) => readFileSync(path, 'utf8'),
    });
    switch (result.kind) {
      case 'help':
        environment.stdout.write(helpText());
        return 0;
      case 'version':
        environment.stdout.write(`kv-node ${VERSION}\n`);
        return 0;
      case 'config':
        if (result.positionals.length > 0) {
          environment.stderr.write(
            `kv-node: unexpected argument "${result.positionals[0]}" (commands: cluster, snapshot restore); see --help\n`,
          );
          return EXIT_USAGE;
        }
        return await environment.runNode(result.config);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      environment.stderr.write(`kv-node: invalid configuration: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
