/**
 * kv-node against etcd 3.4 on the same machine, one after the other, with the same kv-bench
 * workloads over the v3 JSON API or gRPC (run `pnpm build` first; needs `etcd` on the PATH, e.g. Debian's
 * etcd-server). Each system runs as 3 members on loopback. Output: one JSON object per run.
 *
 * Environment: SECONDS_PER_RUN (default 10), PROTOCOL (http, the JSON gateway, by default; grpc
 * for etcd's gRPC API through grpc-js), WORKLOADS (comma-separated "workload:clients"),
 * SYSTEMS (comma-separated subset of "kv-node,etcd-3.4"), WARMUP_SECONDS (default 5, a mixed run
 * that is not reported), BASE_PORT (default 42379; members use BASE_PORT + 10 * i and + 1),
 * BENCH_KV_NODE_CLI (the kv-node entry point; default ../dist/cli.js), BENCH_KV_NODE_FLAGS (node flags for
 * the kv-node members, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"; members are then stopped with
 * SIGTERM so that profiles get written).
 *
 * Each run also reports the CPU time the three members used during it (`memberCpuSeconds`, from
 * /proc on Linux), `cpuMsPerRequest` and `writeSyscallsPerRequest` (the members' write, writev
 * and pwrite calls: socket writes wake the peer that reads them): on a busy machine throughput
 * swings with other load, while these costs per request stay comparable between paired runs.
 */

import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const seconds = process.env.SECONDS_PER_RUN ?? '10';
const workloads = (
  process.env.WORKLOADS ?? 'put:64,put:1,range:64,range-serializable:64,txn-cas:64'
)
  .split(',')
  .map((item) => {
    const [workload, clients] = item.split(':');
    return { workload: workload as string, clients: Number(clients) };
  });
const kvNodeCli =
  process.env.BENCH_KV_NODE_CLI ?? fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const kvNodeFlags = (process.env.BENCH_KV_NODE_FLAGS ?? '')
  .split(' ')
  .filter((flag) => flag !== '');
const benchScript = fileURLToPath(new URL('./kv-bench.js', import.meta.url));

interface System {
  name: string;
  start(
    root: string,
    index: number,
    clientUrl: string,
    peerUrl: string,
    initialCluster: string,
  ): ChildProcess;
}

const systems: System[] = [
  {
    name: 'kv-node',
    start: (root, index, clientUrl, peerUrl, initialCluster) =>
      spawn(
        process.execPath,
        [
          ...kvNodeFlags,
          kvNodeCli,
          '--name',
          `m${index}`,
          '--data-dir',
          `${root}/m${index}`,
          '--listen-client-urls',
          clientUrl,
          '--listen-peer-urls',
          peerUrl,
          '--initial-cluster',
          initialCluster,
          '--peer-secret-file',
          `${root}/peer-secret`,
          '--log-level',
          'error',
        ],
        { stdio: 'ignore' },
      ),
  },
  {
    name: 'etcd-3.4',
    start: (root, index, clientUrl, peerUrl, initialCluster) =>
      spawn(
        'etcd',
        [
          '--name',
          `m${index}`,
          '--data-dir',
          `${root}/m${index}`,
          '--listen-client-urls',
          clientUrl,
          '--advertise-client-urls',
          clientUrl,
          '--listen-peer-urls',
          peerUrl,
          '--initial-advertise-peer-urls',
          peerUrl,
          '--initial-cluster',
          initialCluster,
          '--initial-cluster-token',
          'bench',
          '--initial-cluster-state',
          'new',
        ],
        { stdio: 'ignore' },
      ),
  },
];

/**
 * User plus system CPU seconds and write system calls of the processes, or undefined where /proc
 * is not available.
 */
async function processCosts(
  children: ChildProcess[],
): Promise<{ cpuSeconds: number; writeSyscalls: number } | undefined> {
  try {
    let ticks = 0;
    let writeSyscalls = 0;
    for (const child of children) {
      const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8');
      // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      const io = await readFile(`/proc/${child.pid}/io`, 'utf8');
      writeSyscalls += Number(/^syscw: (\d+)$/m.exec(io)?.[1] ?? Number.NaN);
    }
    return { cpuSeconds: ticks / 100, writeSyscalls }; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

async function ready(clientUrl: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      const response = await fetch(`${clientUrl}/v3/kv/put`, {
        method: 'POST',
        body: JSON.stringify({ key: 'cmVhZHk=', value: 'MQ==' }),
      });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${clientUrl} never became ready`);
}

const only = process.env.SYSTEMS?.split(',');
for (const system of systems.filter(
  (candidate) => only === undefined || only.includes(candidate.name),
)) {
  const root = await mkdtemp(`${tmpdir()}/kv-compare-`);
  // kv-node members share a random peer secret (never derived); etcd ignores the file.
  await writeFile(`${root}/peer-secret`, 'compare-etcd-bench-peer-secret\n', { mode: 0o600 });
  const base = Number(process.env.BASE_PORT ?? 42379);
  const members = [0, 1, 2].map((index) => ({
    index,
    clientUrl: `http://127.0.0.1:${base + 10 * index}`,
    peerUrl: `http://127.0.0.1:${base + 10 * index + 1}`,
  }));
  const initialCluster = members.map((member) => `m${member.index}=${member.peerUrl}`).join(',');
  const children = members.map((member) =>
    system.start(root, member.index, member.clientUrl, member.peerUrl, initialCluster),
  );
  const stop = (): void => {
    for (const child of children) child.kill('SIGKILL');
  };
  /** A graceful stop when profiling (a SIGKILLed process writes no profile). */
  const stopGracefully = async (): Promise<void> => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) {
              resolve();
              return;
            }
            const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
            child.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  };
  process.once('SIGINT', stop);
  try {
    for (const member of members) await ready(member.clientUrl);
    // The same warm-up for both systems (JIT, heap growth, connections), not measured.
    await run(process.execPath, [
      benchScript,
      '--endpoints',
      members.map((member) => member.clientUrl).join(','),
      '--workload',
      'mixed',
      '--clients',
      '64',
      '--duration',
      process.env.WARMUP_SECONDS ?? '5',
    ]);
    for (const { workload, clients } of workloads) {
      const costsBefore = await processCosts(children);
      const { stdout } = await run(process.execPath, [
        benchScript,
        '--endpoints',
        members.map((member) => member.clientUrl).join(','),
        '--workload',
        workload,
        '--clients',
        String(clients),
        '--duration',
        seconds,
        '--value-size',
        '100',
        '--protocol',
        process.env.PROTOCOL ?? 'http',
      ]);
      const costsAfter = await processCosts(children);
      const result = JSON.parse(stdout) as { requests: number };
      const costs =
        costsBefore === undefined || costsAfter === undefined || result.requests === 0
          ? {}
          : {
              memberCpuSeconds:
                Math.round(100 * (costsAfter.cpuSeconds - costsBefore.cpuSeconds)) / 100,
              cpuMsPerRequest:
                Math.round(
                  (1e6 * (costsAfter.cpuSeconds - costsBefore.cpuSeconds)) / result.requests,
                ) / 1000,
              writeSyscallsPerRequest:
                Math.round(
                  (1000 * (costsAfter.writeSyscalls - costsBefore.writeSyscalls)) / result.requests,
                ) / 1000,
            };
      console.log(JSON.stringify({ system: system.name, ...result, ...costs }));
    }
  } finally {
    if (system.name === 'kv-node' && kvNodeFlags.length > 0) await stopGracefully();
    stop();
    process.off('SIGINT', stop);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await rm(root, { recursive: true, force: true });
  }
}
