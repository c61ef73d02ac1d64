// Checker throughput on large generated histories (valid ones, the common case in CI), printed as JSON.
// Run: pnpm --filter @x/linearizability bench
import type { Model } from '../src/index.js';
import { checkHistory, keyValueModel, registerModel } from '../src/index.js';
import { generateHistory } from '../test/generate-history.js';
import { seededRandom } from '../test/seeded-random.js';

interface Scenario {
  readonly name: string;
  readonly model: 'register' | 'kv';
  readonly processes: number;
  readonly operations: number;
  readonly keys: number;
  readonly values: number;
}

const scenarios: Scenario[] = [
  {
    name: 'register, 1 key, 5 clients, 2,000 ops',
    model: 'register',
    processes: 5,
    operations: 2000,
    keys: 1,
    values: 1000,
  },
  {
    name: 'register, 10 keys, 20 clients, 20,000 ops',
    model: 'register',
    processes: 20,
    operations: 20000,
    keys: 10,
    values: 1000,
  },
  {
    name: 'kv, 50 keys, 50 clients, 20,000 ops',
    model: 'kv',
    processes: 50,
    operations: 20000,
    keys: 50,
    values: 0,
  },
];

const results = scenarios.map((scenario) => {
  const { history } = generateHistory(seededRandom(42), { ...scenario, indeterminate: 0.02 });
  const model: Model<unknown> = scenario.model === 'kv' ? keyValueModel() : registerModel();
  checkHistory(history, { model }); // warm-up
  const runs = 5;
  const started = performance.now();
  let outcome = '';
  let steps = 0;
  for (let run = 0; run < runs; run++) {
    const result = checkHistory(history, { model });
    outcome = result.outcome;
    steps = result.statistics.steps;
  }
  const ms = (performance.now() - started) / runs;
  const operations = history.filter((event) => event.type === 'invoke').length;
  return {
    scenario: scenario.name,
    outcome,
    operations,
    msPerCheck: Math.round(ms * 10) / 10,
    operationsPerSecond: Math.round(operations / (ms / 1000)),
    steps,
  };
});
console.log(JSON.stringify({ benchmark: 'check-generated', results }, null, 1));
