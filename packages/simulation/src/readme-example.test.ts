// The "smallest complete example" of the README, kept runnable.
import { expect, it } from 'vitest';
import { runWorkload, simulate, type OperationOutcome } from './index.js';

it('runs the README example', async () => {
  // The system under test: one in-memory register on athens (trivially linearizable).
  const report = await simulate(
    { seed: 1, nodes: 1, createNode: () => ({ value: null as number | null }) },
    async (cluster) => {
      await cluster.start();
      await runWorkload(cluster, {
        clients: 3,
        durationMs: 1_000,
        execute: (operation, context) =>
          context.call('athens', (register): OperationOutcome => {
            if (operation.op === 'read') return { type: 'ok', value: register.value };
            if (operation.op === 'write') {
              register.value = operation.value as number;
              return { type: 'ok' };
            }
            const [expected, replacement] = operation.value as [number, number];
            if (register.value !== expected) return { type: 'fail' };
            register.value = replacement;
            return { type: 'ok' };
          }),
      });
      cluster.assertLinearizable();
    },
  );
  expect(report.traceHash).toMatch(/^[0-9a-f]{16}$/);
  expect(report.historyEvents).toBeGreaterThan(100);
});
