// CPU per durable append of two builds of @x/wal, alternating in rounds on the same disk (the
// process's user + system CPU, worker threads included, over the appends it made).
// Each round runs every build in a fresh child process for SECONDS (default 5) at CONCURRENCY
// (default 64) appenders with PAYLOAD_BYTES (default 128) payloads. Prints one JSON line per run
// and a summary (median CPU µs per append, median appends/s, and their after / before ratios).
// Run: pnpm --filter @x/wal build, then, with the other build's dist/index.js:
//   WAL_BENCH_BEFORE=<before>/dist/index.js ROUNDS=4 pnpm --filter @x/wal bench:cpu-per-append
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Wal from '../src/index.js';

interface RunResult {
  appends: number;
  seconds: number;
  cpuMicrosPerAppend: number;
  appendsPerSecond: number;
}

const seconds = Number(process.env['SECONDS'] ?? 5);
const concurrency = Number(process.env['CONCURRENCY'] ?? 64);
const payloadBytes = Number(process.env['PAYLOAD_BYTES'] ?? 128);

/** One run, in this process: `concurrency` appenders on a fresh log for `seconds`. */
async function runOne(walModule: string): Promise<RunResult> {
  const { WriteAheadLog } = (await import(walModule)) as typeof Wal;
  const directory = mkdtempSync(join(tmpdir(), 'wal-cpu-'));
  try {
    const log = await WriteAheadLog.open(directory);
    const payload = new Uint8Array(payloadBytes).fill(7);
    // A short warm-up so the JIT and the segment's first batch are not in the figure.
    for (let i = 0; i < 2_000; i++) await log.append({ generation: 1, payload });
    let appends = 0;
    let running = true;
    const started = process.hrtime.bigint();
    const cpuBefore = process.cpuUsage();
    const appender = async () => {
      while (running) {
        await log.append({ generation: 1, payload });
        appends++;
      }
    };
    const appenders = Array.from({ length: concurrency }, appender);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    running = false;
    await Promise.all(appenders);
    const cpu = process.cpuUsage(cpuBefore);
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    await log.close();
    return {
      appends,
      seconds: Math.round(elapsed * 100) / 100,
      cpuMicrosPerAppend: Math.round(((cpu.user + cpu.system) / appends) * 100) / 100,
      appendsPerSecond: Math.round(appends / elapsed),
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value =
    sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return Math.round(value * 100) / 100;
};

async function main() {
  const child = process.argv.indexOf('--run');
  if (child !== -1) {
    console.log(JSON.stringify(await runOne(process.argv[child + 1]!)));
    return;
  }
  const before = process.env['WAL_BENCH_BEFORE'];
  if (!before) throw new Error('WAL_BENCH_BEFORE=<the other build>/dist/index.js is required');
  const builds = {
    before: before.startsWith('/') ? `file://${before}` : before,
    after: new URL('../dist/index.js', import.meta.url).href,
  };
  const rounds = Number(process.env['ROUNDS'] ?? 4);
  const results: Record<keyof typeof builds, RunResult[]> = { before: [], after: [] };
  const script = fileURLToPath(import.meta.url);
  for (let round = 1; round <= rounds; round++) {
    // Alternate which build goes first, so a drift in the machine's load favours neither.
    const order = round % 2 === 1 ? (['before', 'after'] as const) : (['after', 'before'] as const);
    for (const build of order) {
      const load = Math.round(loadavg()[0]! * 100) / 100;
      console.error(`round ${round} of ${rounds}: ${build} (load ${load})`);
      const output = execFileSync(process.execPath, [script, '--run', builds[build]], {
        encoding: 'utf8',
      });
      const result = JSON.parse(output) as RunResult;
      results[build].push(result);
      console.log(JSON.stringify({ round, build, load, concurrency, payloadBytes, ...result }));
    }
  }
  const cpu = (build: keyof typeof builds) =>
    median(results[build].map((result) => result.cpuMicrosPerAppend));
  const rate = (build: keyof typeof builds) =>
    median(results[build].map((result) => result.appendsPerSecond));
  const paired = results.after.map(
    (result, index) => result.cpuMicrosPerAppend / results.before[index]!.cpuMicrosPerAppend,
  );
  console.log(
    JSON.stringify({
      summary: true,
      medianCpuMicrosPerAppend: { before: cpu('before'), after: cpu('after') },
      medianAppendsPerSecond: { before: rate('before'), after: rate('after') },
      cpuAfterOverBefore: Math.round((cpu('after') / cpu('before')) * 1000) / 1000,
      pairedCpuRatios: paired.map((ratio) => Math.round(ratio * 1000) / 1000),
      appendsPerSecondAfterOverBefore: Math.round((rate('after') / rate('before')) * 1000) / 1000,
    }),
  );
}

await main();
