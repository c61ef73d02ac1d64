import type { Clock } from './clock.js';
import type { CheckOptions } from './check.js';
import { checkHistory } from './check.js';
import type { CheckResult } from './check-result.js';
import { parseEdnHistory } from './edn-history.js';
import { HistoryError } from './history-error.js';
import type { HistoryEvent } from './history.js';
import { renderHtmlReport } from './html-report.js';
import { parseJepsenLog } from './jepsen-log.js';
import { parseJsonLines } from './json-lines.js';
import type { Model } from './model.js';
import { keyValueModel } from './key-value-model.js';
import { registerModel } from './register-model.js';

/** What the CLI needs from the outside world; `node-cli.ts` supplies the real one. */
export interface CliIo {
  readFile(path: string): Promise<string>;
  writeFile(path: string, text: string): Promise<void>;
  stdout(text: string): void;
  stderr(text: string): void;
  readonly clock: Clock;
}

/** Exit codes of `x-linearizability`. */
export const exitCodes = {
  linearizable: 0,
  notLinearizable: 1,
  unknown: 2,
  usage: 3,
} as const;

/** The help text printed on a usage error. */
export const usage = `Usage: x-linearizability check FILE [options]

Checks a history for linearizability. Exits 0 if linearizable, 1 if not, 2 if the budget ran
out (unknown: treat as a failure), 3 on a usage or input error.

Options:
  --model register|kv          register: read/write/cas; kv: get/put/append (default: from the ops)
  --format jsonl|jepsen|edn    history format (default: guessed from the first line)
  --step-budget N              maximum search steps (default 50000000)
  --time-budget-ms N           maximum search time in milliseconds
  --html REPORT.html           write a timeline of the failing key (when not linearizable)
  --json                       print the result as JSON
`;

type Format = 'jsonl' | 'jepsen' | 'edn';
const parsers: Record<Format, (text: string) => HistoryEvent[]> = {
  jsonl: parseJsonLines,
  jepsen: parseJepsenLog,
  edn: parseEdnHistory,
};

class UsageError extends Error {}

function guessFormat(text: string): Format {
  const first =
    text
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ?? '';
  if (first.includes('jepsen.util')) return 'jepsen';
  if (/^\{\s*"/.test(first)) return 'jsonl';
  if (first.startsWith('{')) return 'edn';
  return 'jsonl';
}

interface Arguments {
  file: string;
  model?: string;
  format?: string;
  stepBudget?: number;
  timeBudgetMs?: number;
  html?: string;
  json: boolean;
}

function parseArguments(args: readonly string[]): Arguments {
  const [command, ...rest] = args;
  if (command !== 'check')
    throw new UsageError(command === undefined ? 'no command' : `unknown command ${command}`);
  const parsed: Partial<Arguments> & { json: boolean } = { json: false };
  const number = (flag: string, text: string | undefined) => {
    const value = Number(text);
    if (text === undefined || !Number.isFinite(value) || value <= 0) {
      throw new UsageError(`${flag} needs a positive number`);
    }
    return value;
  };
  for (let index = 0; index < rest.length; index++) {
    const argument = rest[index]!;
    const next = () => {
      const value = rest[++index];
      if (value === undefined) throw new UsageError(`${argument} needs a value`);
      return value;
    };
    switch (argument) {
      case '--model':
        parsed.model = next();
        break;
      case '--format':
        parsed.format = next();
        break;
      case '--step-budget':
        parsed.stepBudget = number(argument, rest[++index]);
        break;
      case '--time-budget-ms':
        parsed.timeBudgetMs = number(argument, rest[++index]);
        break;
      case '--html':
        parsed.html = next();
        break;
      case '--json':
        parsed.json = true;
        break;
      default:
        if (argument.startsWith('--')) throw new UsageError(`unknown option ${argument}`);
        if (parsed.file !== undefined) throw new UsageError('only one FILE may be checked');
        parsed.file = argument;
    }
  }
  if (parsed.file === undefined) throw new UsageError('no FILE given');
  return parsed as Arguments;
}

function summary(result: CheckResult): string {
  const { operations, keys, steps } = result.statistics;
  const work = `${operations} operations, ${keys} key(s), ${steps} search steps`;
  switch (result.outcome) {
    case 'linearizable':
      return `linearizable (${work})\n`;
    case 'unknown':
      return `unknown: the ${result.reason} ran out on key ${JSON.stringify(result.key)} (${work}); treat as a failure\n`;
    case 'not-linearizable':
      return `not linearizable (${work})\n\n${result.timeline}\n`;
  }
}

/**
 * Runs `x-linearizability` with `args` (without the node and script paths).
 * @returns the exit code (see {@link exitCodes}).
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  let parsed: Arguments;
  try {
    parsed = parseArguments(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`x-linearizability: ${error.message}\n\n${usage}`);
    return exitCodes.usage;
  }
  try {
    const text = await io.readFile(parsed.file);
    const format = parsed.format ?? guessFormat(text);
    if (!(format in parsers)) throw new UsageError(`unknown format ${format}`);
    const history = parsers[format as Format](text);
    const modelName =
      parsed.model ??
      (history.some((event) => ['get', 'put', 'append'].includes(event.op)) ? 'kv' : 'register');
    if (modelName !== 'register' && modelName !== 'kv') {
      throw new UsageError(`unknown model ${modelName}`);
    }
    const model = (modelName === 'kv' ? keyValueModel() : registerModel()) as Model<unknown>;
    const options: CheckOptions<unknown> = {
      model,
      clock: io.clock,
      ...(parsed.stepBudget === undefined ? {} : { stepBudget: parsed.stepBudget }),
      ...(parsed.timeBudgetMs === undefined ? {} : { timeBudgetMs: parsed.timeBudgetMs }),
    };
    const result = checkHistory(history, options);
    io.stdout(parsed.json ? JSON.stringify(result, null, 2) + '\n' : summary(result));
    if (result.outcome === 'not-linearizable' && parsed.html !== undefined) {
      await io.writeFile(parsed.html, renderHtmlReport(result, { model, title: parsed.file }));
      io.stdout(`report written to ${parsed.html}\n`);
    }
    return result.outcome === 'linearizable'
      ? exitCodes.linearizable
      : result.outcome === 'not-linearizable'
        ? exitCodes.notLinearizable
        : exitCodes.unknown;
  } catch (error) {
    if (error instanceof UsageError || error instanceof HistoryError) {
      io.stderr(`x-linearizability: ${parsed.file}: ${error.message}\n`);
      return exitCodes.usage;
    }
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') {
      io.stderr(`x-linearizability: ${(error as Error).message}\n`);
      return exitCodes.usage;
    }
    throw error;
  }
}
