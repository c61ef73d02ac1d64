#!/usr/bin/env node
// The `chaos` command: see `chaos --help`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCommandLine, parseDetectorAbCommandLine, usage, UsageError } from './cli-options.js';
import { formatDetectorAb, runDetectorAb } from './detector-ab.js';
import { killEverySpawnedNode } from './kv-cluster.js';
import { runChaos } from './run-chaos.js';
import { freshSeed } from './seeded-random.js';
import { formatSummary } from './summary-table.js';

const defaultKvNodeCli = fileURLToPath(new URL('../../kv-node/dist/cli.js', import.meta.url));

/** The arguments without a leading `--`. */
function withoutSeparator(args: readonly string[]): string[] {
  return args[0] === '--' ? args.slice(1) : [...args];
}

async function main(): Promise<number> {
  // `pnpm run chaos -- --flag` passes its `--` on; it separates nothing here.
  const args = withoutSeparator(process.argv.slice(2));
  if (args[0] === 'detector-ab') return detectorAb(withoutSeparator(args.slice(1)));
  let parsed;
  try {
    parsed = parseCommandLine(args, defaultKvNodeCli);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`chaos: ${error.message}\n\n${usage}`);
    return 2;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  if (!existsSync(parsed.options.kvNodeCli)) {
    process.stderr.write(
      `chaos: kv-node is not built at ${parsed.options.kvNodeCli} (run: pnpm --filter @x/kv-node build)\n`,
    );
    return 3;
  }
  const seed = parsed.options.seed ?? freshSeed();
  const progress = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  progress(`chaos: seed ${seed} (repeat with --seed ${seed})`);
  try {
    const result = await runChaos({ ...parsed.options, seed, log: progress });
    process.stdout.write(
      parsed.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatSummary(result)}\n`,
    );
    return result.passed ? 0 : 1;
  } catch (error) {
    process.stderr.write(`chaos: ${(error as Error).message}\n`);
    return 3;
  }
}

/** `chaos detector-ab`: the failure-detector comparison (see the usage text). */
async function detectorAb(args: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseDetectorAbCommandLine(args, defaultKvNodeCli);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`chaos: ${error.message}\n\n${usage}`);
    return 2;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  if (!existsSync(parsed.options.base.kvNodeCli)) {
    process.stderr.write(
      `chaos: kv-node is not built at ${parsed.options.base.kvNodeCli} (run: pnpm --filter @x/kv-node build)\n`,
    );
    return 3;
  }
  const seed = parsed.options.seed ?? freshSeed();
  process.stderr.write(`chaos detector-ab: seed ${seed} (repeat with --seed ${seed})\n`);
  try {
    const result = await runDetectorAb({
      ...parsed.options,
      seed,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`${formatDetectorAb(result)}\n`);
    return result.arms.every((arm) => arm.runs.every((run) => run.passed)) ? 0 : 1;
  } catch (error) {
    process.stderr.write(`chaos: ${(error as Error).message}\n`);
    return 3;
  }
}

// Every node dies with us: on a normal exit, on Ctrl-C, on SIGTERM and on a crash.
process.on('exit', killEverySpawnedNode);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    process.stderr.write(`chaos: ${signal}: stopping every node\n`);
    killEverySpawnedNode();
    process.exit(130);
  });
}
process.on('uncaughtException', (error) => {
  process.stderr.write(`chaos: ${error.stack ?? String(error)}\n`);
  killEverySpawnedNode();
  process.exit(3);
});

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`chaos: ${String(error)}\n`);
    process.exitCode = 3;
  },
);
