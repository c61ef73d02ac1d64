/**
 * A cluster of kv-node or etcd 3.4 on loopback (3 members unless asked otherwise) for the
 * benchmarks that compare the two on the same machine (`compare-etcd.bench.ts`,
 * `watch-fanout.bench.ts`, `growth.bench.ts`): how each system is started, when it is ready, what
 * CPU its members used, and how it is stopped.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';
import { memberMemoryLimitMb } from './bench-settings.js';
import type { Launch } from './member-memory-limit.js';
import { memoryLimitedLaunch } from './member-memory-limit.js';

/** One system under test: how to start one of its members. */
export interface BenchSystem {
  name: 'kv-node' | 'kv-node-quorum' | 'kv-node-lmdb' | 'etcd-3.4';
  start(
    root: string,
    index: number,
    clientUrl: string,
    peerUrl: string,
    initialCluster: string,
    launch?: Launch,
  ): ChildProcess;
}

/**
 * kv-node (from `kvNodeCli`, with node flags `kvNodeFlags`, e.g. `--cpu-prof`) and etcd 3.4
 * (`etcd` on the PATH, default settings).
 */
export function benchSystems(kvNodeCli: string, kvNodeFlags: readonly string[]): BenchSystem[] {
  return [kvNodeSystem(kvNodeCli, kvNodeFlags, 'leader'), etcdSystem()];
}

/** etcd 3.4 (`etcd` on the PATH), its default settings plus `extraFlags` (e.g. a larger quota). */
export function etcdSystem(extraFlags: readonly string[] = []): BenchSystem {
  return {
    name: 'etcd-3.4',
    start: (root, index, clientUrl, peerUrl, initialCluster, launch = spawn) => {
      // Its log goes to a file beside the data, as kv-node's, for a member that dies or stalls.
      const log = openSync(`${root}/m${index}.log`, 'a');
      const child = launch(
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
          ...extraFlags,
        ],
        { stdio: ['ignore', 'ignore', log] },
      );
      closeSync(log);
      return child;
    },
  };
}

/**
 * kv-node (from `kvNodeCli`, with node flags `kvNodeFlags`) replicating through a leader (the
 * default) or leaderless (`--replication quorum`, named `kv-node-quorum`), its state in memory
 * (the default) or in LMDB (`--backend lmdb`, named `kv-node-lmdb`), with kv-node flags
 * `extraFlags` after the bench's own (e.g. a larger quota).
 */
export function kvNodeSystem(
  kvNodeCli: string,
  kvNodeFlags: readonly string[],
  replication: 'leader' | 'quorum',
  backend: 'memory' | 'lmdb' = 'memory',
  extraFlags: readonly string[] = [],
): BenchSystem {
  return {
    name:
      backend === 'lmdb' ? 'kv-node-lmdb' : replication === 'leader' ? 'kv-node' : 'kv-node-quorum',
    start: (root, index, clientUrl, peerUrl, initialCluster, launch = spawn) => {
      // Errors (the log level) go to a file beside the data, for a member that dies mid-run.
      const log = openSync(`${root}/m${index}.log`, 'a');
      const child = launch(
        process.execPath,
        [
          ...kvNodeFlags,
          kvNodeCli,
          '--replication',
          replication,
          '--backend',
          backend,
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
          ...extraFlags,
        ],
        { stdio: ['ignore', 'ignore', log] },
      );
      closeSync(log);
      return child;
    },
  };
}

/**
 * Throws, naming the member and quoting its log's last lines, if a member of `cluster` has
 * exited: its figures would measure a crippled cluster.
 */
export async function assertMembersRunning(cluster: BenchCluster, label: string): Promise<void> {
  for (const [index, child] of cluster.children.entries()) {
    if (child.exitCode === null && child.signalCode === null) continue;
    const log = await readFile(`${cluster.root}/m${index}.log`, 'utf8').catch(() => '');
    throw new Error(
      `${label}: member m${index} exited (code ${child.exitCode}, signal ${child.signalCode}): ${log.trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
}

/**
 * User plus system CPU seconds and write system calls of the processes, or undefined where /proc
 * is not available.
 */
export async function processCosts(
  children: readonly ChildProcess[],
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

/** What the members of a cluster spent on the requests of one run, from two `processCosts`. */
export interface RunCosts {
  /** The members' CPU seconds (user + system) during the run, all members together. */
  memberCpuSeconds: number;
  /** `memberCpuSeconds` per request, in milliseconds. */
  cpuMsPerRequest: number;
  /** The members' write, writev and pwrite calls per request. */
  writeSyscallsPerRequest: number;
}

/**
 * The members' costs between `before` and `after` spread over `requests`, or undefined where
 * /proc gave nothing or no request succeeded.
 */
export function runCosts(
  before: Awaited<ReturnType<typeof processCosts>>,
  after: Awaited<ReturnType<typeof processCosts>>,
  requests: number,
): RunCosts | undefined {
  if (before === undefined || after === undefined || requests === 0) return undefined;
  const cpuSeconds = after.cpuSeconds - before.cpuSeconds;
  return {
    memberCpuSeconds: Math.round(100 * cpuSeconds) / 100,
    cpuMsPerRequest: Math.round((1e6 * cpuSeconds) / requests) / 1000,
    writeSyscallsPerRequest:
      Math.round((1000 * (after.writeSyscalls - before.writeSyscalls)) / requests) / 1000,
  };
}

/** Resolves true if nothing listens on loopback `port` now (a listen there succeeds). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}

/**
 * A base port for `startBenchCluster` whose `memberCount` client and peer ports are all free now,
 * picked at random between 20000 and 32000 (below Linux's ephemeral ports, which outgoing
 * connections take): other benches on the same machine use fixed ports, and a member that cannot
 * listen, or a readiness check answered by another bench's member, would spoil the run.
 */
export async function freeBasePort(memberCount: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20_000 + 10 * Math.floor(Math.random() * (1200 - memberCount));
    const ports = Array.from({ length: memberCount }, (_, index) => [
      base + 10 * index,
      base + 10 * index + 1,
    ]).flat();
    let free = true;
    for (const port of ports) free &&= await portIsFree(port);
    if (free) return base;
  }
  throw new Error(`no free block of ports for ${memberCount} members in 100 attempts`);
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

/** A running cluster. */
export interface BenchCluster {
  /** The temporary folder of the members' data and logs (deleted by `stop`). */
  readonly root: string;
  readonly clientUrls: readonly string[];
  /** The members' processes, index by index (a restarted member's entry is its new process). */
  readonly children: readonly ChildProcess[];
  /**
   * Stops member `index` with SIGTERM (SIGKILL after 15 s) and resolves when it has exited; its
   * data stays for `startMember`.
   */
  stopMember(index: number): Promise<void>;
  /** Starts member `index` again with the same flags and data (after `stopMember`). */
  startMember(index: number): ChildProcess;
  /** Stops every member (SIGTERM first when `graceful`, so profiles get written) and cleans up. */
  stop(graceful: boolean): Promise<void>;
}

// Every member started here that has not exited, and every cluster's folder not yet removed,
// for `stopEveryCluster`: a signal may come while a cluster is still starting.
const liveMembers = new Set<ChildProcess>();
const liveRoots = new Set<string>();

/**
 * Kills (SIGKILL) every member that `startBenchCluster` started in this process, including those
 * of a cluster still starting, waits for them to exit and removes their folders: for a bench
 * stopped by a signal.
 */
export async function stopEveryCluster(): Promise<void> {
  const members = [...liveMembers];
  for (const child of members) child.kill('SIGKILL');
  await Promise.all(members.map(exited));
  await Promise.all([...liveRoots].map((root) => rm(root, { recursive: true, force: true })));
  liveRoots.clear();
}

/** Resolves when `child` has exited. */
function exited(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Sends SIGTERM to `child` (SIGKILL after 15 s) and resolves when it has exited. */
function terminate(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
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
  });
}

/**
 * Starts `memberCount` members of `system` (3 by default) on loopback (client ports
 * `basePort + 10 * i`, peer ports one above) in a fresh temporary directory, and waits until each
 * answers a put.
 */
export async function startBenchCluster(
  system: BenchSystem,
  basePort: number,
  memberCount = 3,
): Promise<BenchCluster> {
  const root = await mkdtemp(`${tmpdir()}/kv-compare-`);
  liveRoots.add(root);
  // kv-node members share a random peer secret (never derived); etcd ignores the file.
  await writeFile(`${root}/peer-secret`, 'compare-etcd-bench-peer-secret\n', { mode: 0o600 });
  const members = Array.from({ length: memberCount }, (_, index) => ({
    index,
    clientUrl: `http://127.0.0.1:${basePort + 10 * index}`,
    peerUrl: `http://127.0.0.1:${basePort + 10 * index + 1}`,
  }));
  const initialCluster = members.map((member) => `m${member.index}=${member.peerUrl}`).join(',');
  const startMember = (index: number): ChildProcess => {
    const member = members[index] as (typeof members)[number];
    // Under MEMBER_MEMORY_LIMIT_MB each member runs in a memory cgroup of its own.
    const limited =
      memberMemoryLimitMb === undefined
        ? undefined
        : memoryLimitedLaunch(`${basename(root)}-m${index}`, memberMemoryLimitMb);
    const child = system.start(
      root,
      index,
      member.clientUrl,
      member.peerUrl,
      initialCluster,
      limited?.launch,
    );
    liveMembers.add(child);
    child.once('exit', () => {
      liveMembers.delete(child);
      limited?.release();
    });
    return child;
  };
  const children = members.map((member) => startMember(member.index));
  const kill = (): void => {
    for (const child of children) child.kill('SIGKILL');
  };
  process.once('SIGINT', kill);
  const stop = async (graceful: boolean): Promise<void> => {
    if (graceful) await Promise.all(children.map(terminate));
    kill();
    process.off('SIGINT', kill);
    // A member holding gigabytes takes a while to exit: the next cluster reuses its ports.
    await Promise.all(children.map(exited));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await rm(root, { recursive: true, force: true });
    liveRoots.delete(root);
  };
  try {
    for (const member of members) await ready(member.clientUrl);
  } catch (error) {
    await stop(false);
    throw error;
  }
  return {
    root,
    clientUrls: members.map((member) => member.clientUrl),
    children,
    stopMember: (index) => terminate(children[index] as ChildProcess),
    startMember: (index) => {
      const child = startMember(index);
      children[index] = child;
      return child;
    },
    stop,
  };
}
