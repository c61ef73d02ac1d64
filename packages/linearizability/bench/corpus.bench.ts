// Checks every corpus history and prints one JSON object: per-file outcome, time and steps, and totals.
// Run: pnpm --filter @x/linearizability bench
import { readFileSync, readdirSync } from 'node:fs';
import {
  checkHistory,
  keyValueModel,
  parseEdnHistory,
  parseJepsenLog,
  registerModel,
} from '../src/index.js';

const corpus = new URL('../corpus/', import.meta.url);
const only = process.argv[2];
const results: { file: string; outcome: string; expected: string; ms: number; steps: number }[] =
  [];

function expectations(folder: string): Map<string, string> {
  const text = readFileSync(new URL(`${folder}/expected.tsv`, corpus), 'utf8');
  return new Map(
    text
      .trim()
      .split('\n')
      .map((line) => line.split('\t') as [string, string]),
  );
}

function run(
  folder: string,
  parse: typeof parseJepsenLog,
  model: () => Parameters<typeof checkHistory>[1]['model'],
) {
  const expected = expectations(folder);
  for (const file of readdirSync(new URL(`${folder}/`, corpus)).sort()) {
    if (file === 'expected.tsv' || (only !== undefined && !file.includes(only))) continue;
    const history = parse(readFileSync(new URL(`${folder}/${file}`, corpus), 'utf8'));
    const started = performance.now();
    const result = checkHistory(history, { model: model() });
    const ms = performance.now() - started;
    results.push({
      file: `${folder}/${file}`,
      outcome: result.outcome,
      expected: expected.get(file) ?? 'linearizable',
      ms: Math.round(ms * 10) / 10,
      steps: result.statistics.steps,
    });
    if (process.env.VERBOSE) console.error(results.at(-1));
  }
}

const started = performance.now();
run('jepsen-etcd', parseJepsenLog, () => registerModel());
run('kv', parseEdnHistory, () => keyValueModel());
const totalMs = performance.now() - started;
const wrong = results.filter((r) => r.outcome !== r.expected);
const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 5);
console.log(
  JSON.stringify(
    {
      benchmark: 'corpus',
      files: results.length,
      wrong: wrong.length,
      totalMs: Math.round(totalMs),
      slowest,
      wrongFiles: wrong.map((r) => r.file),
    },
    null,
    1,
  ),
);
