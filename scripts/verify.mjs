#!/usr/bin/env node
// `pnpm run verify`: every check CI runs, in the order their inputs allow, timing each stage.
//   1. build                         (docs and the package checks need dist/)
//   2. lint, typecheck, docs         independent of each other: two at a time (the CI machine has
//                                    two cores; turbo already spreads each over the packages)
//   3. check:packages                alone: it removes and rebuilds dist/ folders
//   4. tests                         CHAOS_SUITE=1 vitest run --maxWorkers=2 (the JSON report
//                                    feeds .ci/run)
// Stops at the first failing stage. Writes the durations and the total to .verify-stages.json
// (read by .ci/run) and prints them at the end.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const root = new URL('..', import.meta.url).pathname;
const CONCURRENCY = 2;

/** @typedef {{ name: string, command: string, env?: Record<string, string> }} Stage */

/** @type {Stage[][]} phases run one after the other; the stages of a phase share CONCURRENCY */
const phases = [
  [{ name: 'build', command: 'pnpm build' }],
  [
    { name: 'lint', command: 'pnpm lint' },
    { name: 'typecheck', command: 'pnpm typecheck' },
    { name: 'docs', command: 'pnpm run docs' },
  ],
  [{ name: 'check:packages', command: 'pnpm check:packages' }],
  // Two test files at a time. Vitest's default on a 2-core machine is one (cores - 1): the whole
  // run waited on files that mostly wait themselves, above all the chaos suite's four fixed 60 s
  // schedules (about half a core busy). The flag reaches every project; `maxWorkers` in the root
  // config would not.
  [{ name: 'tests', command: 'vitest run --maxWorkers=2', env: { CHAOS_SUITE: '1' } }],
];

/** @type {{ stage: string, seconds: number, status: number }[]} */
const timings = [];

/**
 * Runs one stage through the shell. With others running beside it, its output is collected and
 * printed in one piece when it ends, so the logs of two stages do not interleave.
 *
 * @param {Stage} stage
 * @param {boolean} buffered
 * @returns {Promise<number>} exit status
 */
function runStage(stage, buffered) {
  const started = performance.now();
  console.log(`verify: ${stage.name} started: ${stage.command}`);
  return new Promise((resolve) => {
    const child = spawn(stage.command, {
      cwd: root,
      shell: true,
      env: { ...process.env, ...stage.env },
      stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    /** @type {Buffer[]} */
    const output = [];
    child.stdout?.on('data', (chunk) => output.push(chunk));
    child.stderr?.on('data', (chunk) => output.push(chunk));
    child.once('close', (code, signal) => {
      const status = code ?? (signal === null ? 1 : 128);
      const seconds = Math.round((performance.now() - started) / 100) / 10;
      if (buffered) process.stdout.write(Buffer.concat(output));
      timings.push({ stage: stage.name, seconds, status });
      console.log(
        `verify: ${stage.name} ${status === 0 ? 'passed' : `FAILED (exit ${status})`} in ${seconds} s`,
      );
      resolve(status);
    });
  });
}

/**
 * @param {Stage[]} stages
 * @returns {Promise<number>} 0 if every stage passed, else the first failure's status
 */
async function runPhase(stages) {
  const statuses = [];
  let next = 0;
  const worker = async () => {
    while (next < stages.length) {
      const stage = /** @type {Stage} */ (stages[next++]);
      statuses.push(await runStage(stage, stages.length > 1));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, stages.length) }, worker));
  return statuses.find((status) => status !== 0) ?? 0;
}

let status = 0;
const started = performance.now();
for (const phase of phases) {
  status = await runPhase(phase);
  if (status !== 0) break;
}
const total = Math.round((performance.now() - started) / 1000);
writeFileSync(
  `${root}.verify-stages.json`,
  `${JSON.stringify({ totalSeconds: total, stages: timings }, null, 2)}\n`,
);
console.log(`\nverify: stage durations (${total} s in all; lint, typecheck and docs overlap)`);
for (const { stage, seconds, status: stageStatus } of timings) {
  console.log(
    `  ${stage.padEnd(16)} ${String(seconds).padStart(7)} s${stageStatus === 0 ? '' : '  FAILED'}`,
  );
}
process.exitCode = status;
