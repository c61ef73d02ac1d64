import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CheckResult } from './check-result.js';
import { checkHistory } from './check.js';
import { formatJsonLines, parseJsonLines } from './json-lines.js';
import type { Model } from './model.js';
import { parseEdnHistory } from './edn-history.js';
import { parseJepsenLog } from './jepsen-log.js';
import { keyValueModel } from './key-value-model.js';
import { registerModel } from './register-model.js';

const corpus = new URL('../corpus/', import.meta.url);

function expectations(folder: string): [string, string][] {
  const text = readFileSync(new URL(`${folder}/expected.tsv`, corpus), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => line.split('\t') as [string, string]);
}

describe('the jepsen-etcd corpus (single compare-and-set register)', () => {
  const expected = new Map(expectations('jepsen-etcd'));
  const files = readdirSync(new URL('jepsen-etcd/', corpus)).filter((name) =>
    name.endsWith('.log'),
  );

  it('has 103 logs, 102 with known answers', () => {
    expect(files).toHaveLength(103);
    expect(expected.size).toBe(102);
  });

  it.each(files)('%s', (name) => {
    const history = parseJepsenLog(readFileSync(new URL(`jepsen-etcd/${name}`, corpus), 'utf8'));
    const model = registerModel();
    const result = checkHistory(history, { model });
    // etcd_095.log is empty, hence trivially linearizable.
    expect(result.outcome).toBe(expected.get(name) ?? 'linearizable');
    expectHonestDiagnosis(result, model);
    // The package's own format carries the same history.
    const again = checkHistory(parseJsonLines(formatJsonLines(history)), { model });
    expect(again.outcome).toBe(result.outcome);
  });
});

describe('the kv corpus (per-key get/put/append)', () => {
  it.each(expectations('kv'))('%s is %s', (name, answer) => {
    const history = parseEdnHistory(readFileSync(new URL(`kv/${name}`, corpus), 'utf8'));
    const model = keyValueModel();
    const result = checkHistory(history, { model });
    expect(result.outcome).toBe(answer);
    expectHonestDiagnosis(result, model);
  });
});

/**
 * A failure report must describe a real dead end: the prefix is a legal sequential execution that
 * respects real time and contains every operation that completed before the failing one did.
 */
function expectHonestDiagnosis<State>(result: CheckResult, model: Model<State>): void {
  if (result.outcome !== 'not-linearizable') return;
  let state = model.initial();
  for (const operation of result.linearizablePrefix) {
    const next = model.step(state, operation);
    expect(next).toBeDefined();
    state = next!;
  }
  expect(model.describeState(state)).toBe(result.stateAfterPrefix);
  const placed = new Set(result.linearizablePrefix);
  const failing = result.failingOperation;
  expect(placed.has(failing)).toBe(false);
  for (const operation of result.keyOperations) {
    if (operation.completeIndex < failing.completeIndex) expect(placed.has(operation)).toBe(true);
  }
  result.linearizablePrefix.forEach((operation, index) => {
    for (const later of result.linearizablePrefix.slice(index + 1)) {
      expect(later.completeIndex > operation.invokeIndex).toBe(true);
    }
  });
}
