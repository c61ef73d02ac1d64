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

/** What each entry point contributes; `runCommand` does the parsing, checks and exit codes. */
interface Command<Options> {
  /** Parses the arguments; a help request is `undefined`. @throws UsageError */
  readonly parse: (args: readonly string[]) => Options | undefined;
  readonly kvNodeCli: (options: Options) => string;
  /** Prefixes the seed line: `chaos`, `chaos detector-ab`. */
  readonly title: string;
  /** Runs with the seed and prints the result; resolves to whether every check passed. */
  readonly run: (options: Options, seed: number, log: (line: string) => void) => Promise<boolean>;
}

/** Exit codes: 0 passed, 1 a check failed, 2 bad usage, 3 could not run. */
async function runCommand<Options extends { readonly seed?: number }>(
  command: Command<Options>,
  args: readonly string[],
): Promise<number> {
  let options;
  try {
    options = command.parse(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`chaos: ${error.message}\n\n${usage}`);
    return 2;
  }
  if (options === undefined) {
    process.stdout.write(usage);
    return 0;
  }
  const kvNodeCli = command.kvNodeCli(options);
  if (!existsSync(kvNodeCli)) {
    process.stderr.write(
      `chaos: kv-node is not built at ${kvNodeCli} (run: pnpm --filter @x/kv-node build)\n`,
    );
    return 3;
  }
  const seed = options.seed ?? freshSeed();
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  log(`${command.title}: seed ${seed} (repeat with --seed ${seed})`);
  try {
    return (await command.run(options, seed, log)) ? 0 : 1;
  } catch (error) {
    process.stderr.write(`chaos: ${(error as Error).message}\n`);
    return 3;
  }
}

type ChaosCommandOptions = Extract<ReturnType<typeof parseCommandLine>, { kind: 'run' }>;

const chaosCommand: Command<ChaosCommandOptions['options'] & { readonly json: boolean }> = {
  title: 'chaos',
  parse: (args) => {
    const parsed = parseCommandLine(args, defaultKvNodeCli);
    return parsed.kind === 'help' ? undefined : { ...parsed.options, json: parsed.json };
  },
  kvNodeCli: (options) => options.kvNodeCli,
  run: async ({ json, ...options }, seed, log) => {
    const result = await runChaos({ ...options, seed, log });
    process.stdout.write(
      json ? `${JSON.stringify(result, null, 2)}\n` : `${formatSummary(result)}\n`,
    );
    return result.passed;
  },
};

type DetectorAbCommandOptions = Extract<
  ReturnType<typeof parseDetectorAbCommandLine>,
  { kind: 'detector-ab' }
>['options'];

const detectorAbCommand: Command<DetectorAbCommandOptions> = {
  title: 'chaos detector-ab',
  parse: (args) => {
    const parsed = parseDetectorAbCommandLine(args, defaultKvNodeCli);
    return parsed.kind === 'help' ? undefined : parsed.options;
  },
  kvNodeCli: (options) => options.base.kvNodeCli,
  run: async (options, seed, log) => {
    const result = await runDetectorAb({ ...options, seed, log });
    process.stdout.write(`${formatDetectorAb(result)}\n`);
    return result.arms.every((arm) => arm.runs.every((run) => run.passed));
  },
};

function main(): Promise<number> {
  // `pnpm run chaos -- --flag` passes its `--` on; it separates nothing here.
  const args = withoutSeparator(process.argv.slice(2));
  return args[0] === 'detector-ab'
    ? runCommand(detectorAbCommand, withoutSeparator(args.slice(1)))
    : runCommand(chaosCommand, args);
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
