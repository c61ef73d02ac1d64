// What a durable generation bump costs. Each next() is a full atomic replace: write a temporary
// file, fdatasync, rename, fsync the directory. The baseline does exactly those system calls with
// node:fs directly, so the difference is this package's overhead. Output: JSON on stdout.
// Usage: node dist-bench/next-generation.bench.js [directory on the disk to measure]
import { constants } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  FileGenerationStore,
  GenerationClock,
  InMemoryGenerationStore,
  NodeFileSystem,
} from '../src/index.js';

const directory = resolve(process.argv[2] ?? join('dist-bench', 'data'));
const diskIterations = 300;
const rounds = 10;

interface Measured {
  readonly name: string;
  readonly latenciesUs: number[];
  elapsedNs: number;
}

function measured(name: string): Measured {
  return { name, latenciesUs: [], elapsedNs: 0 };
}

async function timeRound(into: Measured, iterations: number, run: () => Promise<unknown>) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const before = process.hrtime.bigint();
    await run();
    into.latenciesUs.push(Number(process.hrtime.bigint() - before) / 1000);
  }
  into.elapsedNs += Number(process.hrtime.bigint() - start);
}

function summary(result: Measured) {
  const sorted = [...result.latenciesUs].sort((a, b) => a - b);
  const percentile = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return {
    name: result.name,
    iterations: sorted.length,
    operationsPerSecond: (sorted.length * 1e9) / result.elapsedNs,
    p50Us: percentile(0.5),
    p99Us: percentile(0.99),
  };
}

/** The same system calls as one save, without the package. */
async function rawAtomicReplace(target: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${target}.tmp`;
  const handle = await open(temporary, constants.O_RDWR | constants.O_CREAT, 0o644);
  try {
    await handle.truncate(0);
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temporary, target);
  const directoryHandle = await open(directory, constants.O_RDONLY);
  try {
    await directoryHandle.sync();
  } finally {
    await directoryHandle.close();
  }
}

await rm(directory, { recursive: true, force: true });
await mkdir(directory, { recursive: true });

const record = new Uint8Array(30);
const rawAtomic = () => rawAtomicReplace(join(directory, 'raw'), record);
const onDisk = await GenerationClock.open(
  new FileGenerationStore({ fileSystem: new NodeFileSystem(), directory }),
);
const nextOnDisk = () => onDisk.next({ votedFor: 'athens' });

// Warm up, then alternate short rounds of each, so both see the same (shared, busy) disk.
await timeRound(measured('warm-up'), 20, rawAtomic);
await timeRound(measured('warm-up'), 20, nextOnDisk);
const baseline = measured('baseline: raw write + fdatasync + rename + fsync(dir)');
const package_ = measured('GenerationClock.next() on NodeFileSystem');
for (let round = 0; round < rounds; round++) {
  await timeRound(baseline, diskIterations / rounds, rawAtomic);
  await timeRound(package_, diskIterations / rounds, nextOnDisk);
}

const inMemoryClock = await GenerationClock.open(new InMemoryGenerationStore());
const inMemory = measured('GenerationClock.next() on InMemoryGenerationStore');
await timeRound(measured('warm-up'), 10_000, () => inMemoryClock.next());
await timeRound(inMemory, 200_000, () => inMemoryClock.next());

const results = [summary(baseline), summary(package_), summary(inMemory)];
await rm(directory, { recursive: true, force: true });
console.log(
  JSON.stringify(
    {
      benchmark: '@x/generation-clock next()',
      node: process.version,
      directory,
      results,
      p50VersusBaseline: results[1]!.p50Us / results[0]!.p50Us,
    },
    null,
    2,
  ),
);
