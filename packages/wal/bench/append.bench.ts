// Benchmark of @x/wal on the real disk (a temp directory under os.tmpdir(), removed afterwards).
// Prints one JSON document on stdout comparing, in the same run:
//   - a raw `write + fdatasync` loop (the floor for one durable append),
//   - durable appends (group mode) at concurrency 1, 16 and 256 with 128-byte and 4-KiB payloads,
//   - open/recovery time and RSS of a fresh process opening a 1,000,000-entry log.
// Run: pnpm --filter @x/wal bench   (options: --quick for a smoke run)
// With --modes (or WAL_BENCH_MODES=1)
// it measures only the three durability modes side by side instead (group: answer
// after fdatasync; interval: answer at once, fdatasync within 100 ms; none: never fdatasync),
// interleaved in rounds so all see the same disk load.
import { spawnSync } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  NodeFileSystem,
  WriteAheadLog,
  type DurabilityMode,
  type FileSystem,
} from '../src/index.js';
import { observedFileSystem } from '../src/testing/index.js';

/**
 * The real file system, counting fdatasyncs so the output shows how many appends share one (the
 * rest passed through: small batches are written on the loop as in production).
 */
function countingFileSystem(): { fileSystem: FileSystem; datasyncs: () => number } {
  let datasyncs = 0;
  const fileSystem = observedFileSystem(new NodeFileSystem(), (handle) => ({
    datasync: () => {
      datasyncs++;
      return handle.datasync();
    },
  }));
  return { fileSystem, datasyncs: () => datasyncs };
}

const quick = process.argv.includes('--quick');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function summarize(latenciesMs: number[]) {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    medianMs: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
  };
}

/**
 * Concurrency 1 against the raw loop, interleaved in short rounds so both see the same disk
 * load (this machine is shared; back-to-back runs minutes apart are not comparable).
 */
async function concurrencyOneVersusRaw(
  directory: string,
  payloadBytes: number,
  rounds: number,
  perRound: number,
) {
  const raw = await open(join(directory, `raw-${payloadBytes}.dat`), 'w+');
  // The same bytes the log writes per entry (record header + payload, 8-aligned).
  const rawBuffer = new Uint8Array((32 + payloadBytes + 7) & ~7).fill(1);
  let rawPosition = 0;
  const logDirectory = join(directory, `wal-${payloadBytes}-1`);
  const counting = countingFileSystem();
  const log = await WriteAheadLog.open(logDirectory, { fileSystem: counting.fileSystem });
  const syncsBefore = counting.datasyncs();
  const payload = new Uint8Array(payloadBytes).fill(7);
  const rawLatencies: number[] = [];
  const logLatencies: number[] = [];
  let rawMs = 0;
  let logMs = 0;
  for (let round = 0; round < rounds; round++) {
    let t = performance.now();
    for (let i = 0; i < perRound; i++) {
      const t0 = performance.now();
      await raw.write(rawBuffer, 0, rawBuffer.length, rawPosition);
      await raw.datasync();
      rawLatencies.push(performance.now() - t0);
      rawPosition += rawBuffer.length;
    }
    rawMs += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < perRound; i++) {
      const t0 = performance.now();
      await log.append({ generation: 1, payload });
      logLatencies.push(performance.now() - t0);
    }
    logMs += performance.now() - t;
  }
  await raw.close();
  const datasyncs = counting.datasyncs() - syncsBefore;
  await log.close();
  await rm(logDirectory, { recursive: true, force: true });
  const count = rounds * perRound;
  return {
    raw: {
      payloadBytes,
      count,
      ...summarize(rawLatencies),
      perSecond: Math.round((count / rawMs) * 1000),
    },
    log: {
      durability: 'group' as DurabilityMode,
      payloadBytes,
      concurrency: 1,
      count,
      appendsPerFdatasync: (Math.round((count / datasyncs) * 10) / 10) as number | null,
      ...summarize(logLatencies),
      appendsPerSecond: Math.round((count / logMs) * 1000),
      megabytesPerSecond: Math.round(((count * payloadBytes) / logMs / 1000) * 10) / 10,
    },
  };
}

async function durableAppends(
  directory: string,
  payloadBytes: number,
  concurrency: number,
  count: number,
  durability: DurabilityMode = 'group',
) {
  const logDirectory = join(directory, `wal-${durability}-${payloadBytes}-${concurrency}`);
  const counting = countingFileSystem();
  const log = await WriteAheadLog.open(logDirectory, {
    fileSystem: counting.fileSystem,
    durability,
  });
  const payload = new Uint8Array(payloadBytes).fill(7);
  const latencies = new Array<number>(count);
  const syncsBefore = counting.datasyncs();
  let issued = 0;
  const worker = async () => {
    while (issued < count) {
      const slot = issued++;
      const t0 = performance.now();
      await log.append({ generation: 1, payload });
      latencies[slot] = performance.now() - t0;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - started;
  const datasyncs = counting.datasyncs() - syncsBefore;
  await log.close();
  await rm(logDirectory, { recursive: true, force: true });
  return {
    durability,
    payloadBytes,
    concurrency,
    count,
    appendsPerFdatasync: datasyncs === 0 ? null : Math.round((count / datasyncs) * 10) / 10,
    ...summarize(latencies),
    appendsPerSecond: Math.round((count / elapsed) * 1000),
    megabytesPerSecond: Math.round(((count * payloadBytes) / elapsed / 1000) * 10) / 10,
  };
}

async function buildLargeLog(logDirectory: string, entries: number, payloadBytes: number) {
  const log = await WriteAheadLog.open(logDirectory, { durability: 'none' });
  const payload = new Uint8Array(payloadBytes).fill(3);
  const batch = Array.from({ length: 1000 }, () => ({ generation: 1, payload }));
  for (let written = 0; written < entries; written += batch.length) await log.appendAll(batch);
  await log.close();
}

/** In a fresh process, so RSS measures the open alone. */
async function reopenInChild(logDirectory: string) {
  const t0 = performance.now();
  const log = await WriteAheadLog.open(logDirectory);
  const openMs = performance.now() - t0;
  global.gc?.();
  const rssMegabytes = Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10;
  const result = {
    entries: log.lastIndex - log.firstIndex + 1,
    segments: log.segments().length,
    openMs: Math.round(openMs),
    rssMegabytes,
  };
  await log.close();
  process.stdout.write(JSON.stringify(result));
}

/**
 * The three durability modes side by side at concurrency 1 and 16 with 128-byte payloads, in
 * interleaved rounds; the median round of each is reported with every round's throughput.
 */
async function durabilityModes(directory: string) {
  const modes: DurabilityMode[] = ['group', 'interval', 'none'];
  const rounds = quick ? 1 : 5;
  const samples = new Map<string, Awaited<ReturnType<typeof durableAppends>>[]>();
  for (let round = 0; round < rounds; round++) {
    for (const concurrency of [1, 16]) {
      for (const mode of modes) {
        const count = quick ? 500 : concurrency === 1 ? 2_000 : 20_000;
        const result = await durableAppends(directory, 128, concurrency, count, mode);
        const key = `${mode}/${concurrency}`;
        samples.set(key, [...(samples.get(key) ?? []), result]);
      }
    }
  }
  return [...samples.values()].map((results) => {
    const sorted = [...results].sort((a, b) => a.appendsPerSecond - b.appendsPerSecond);
    return {
      ...sorted[Math.floor(sorted.length / 2)]!,
      appendsPerSecondEachRound: results.map((result) => result.appendsPerSecond),
    };
  });
}

async function main() {
  const reopenAt = process.argv.indexOf('--reopen');
  if (reopenAt >= 0) return reopenInChild(process.argv[reopenAt + 1]!);
  if (process.argv.includes('--modes') || process.env['WAL_BENCH_MODES'] === '1') {
    const directory = await mkdtemp(join(tmpdir(), 'wal-bench-'));
    try {
      const result = {
        benchmark: '@x/wal durability modes',
        node: process.version,
        cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
        quick,
        modes: await durabilityModes(directory),
      };
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
    return;
  }

  const directory = await mkdtemp(join(tmpdir(), 'wal-bench-'));
  try {
    const raw = [];
    const appends: Awaited<ReturnType<typeof durableAppends>>[] = [];
    for (const payloadBytes of [128, 4096]) {
      const pair = await concurrencyOneVersusRaw(
        directory,
        payloadBytes,
        quick ? 2 : 15,
        quick ? 100 : 200,
      );
      raw.push(pair.raw);
      appends.push(pair.log);
      for (const concurrency of [16, 256]) {
        const count = quick
          ? 2000
          : concurrency === 16
            ? 30_000
            : payloadBytes === 128
              ? 300_000
              : 60_000;
        appends.push(await durableAppends(directory, payloadBytes, concurrency, count));
      }
    }
    const entries = quick ? 50_000 : 1_000_000;
    const logDirectory = join(directory, 'large');
    await buildLargeLog(logDirectory, entries, 128);
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', process.argv[1]!, '--reopen', logDirectory],
      { encoding: 'utf8' },
    );
    if (child.status !== 0) throw new Error(`reopen child failed: ${child.stderr}`);
    const reopen = {
      payloadBytes: 128,
      ...(JSON.parse(child.stdout) as { openMs: number; rssMegabytes: number }),
    };

    const c1 = (bytes: number) =>
      appends.find((a) => a.payloadBytes === bytes && a.concurrency === 1)!;
    const result = {
      benchmark: '@x/wal append',
      node: process.version,
      cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      directory: tmpdir(),
      quick,
      rawWriteFdatasync: raw,
      durableAppends: appends,
      reopen,
      targets: {
        concurrency1MedianVsRaw128: Math.round((c1(128).medianMs / raw[0]!.medianMs) * 100) / 100,
        concurrency1MedianVsRaw4096: Math.round((c1(4096).medianMs / raw[1]!.medianMs) * 100) / 100,
        appendsPerSecond128AtConcurrency256: appends.find(
          (a) => a.payloadBytes === 128 && a.concurrency === 256,
        )!.appendsPerSecond,
        reopenMs: reopen.openMs,
        reopenRssMegabytes: reopen.rssMegabytes,
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
