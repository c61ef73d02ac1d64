/**
 * A 3-member cluster of kv-node or etcd 3.4 on loopback for the benchmarks that compare the two
 * on the same machine (`compare-etcd.bench.ts`, `watch-fanout.bench.ts`): how each system is
 * started, when it is ready, what CPU its members used, and how it is stopped.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';

/** One system under test: how to start one of its members. */
export interface BenchSystem {
  name: 'kv-node' | 'kv-node-quorum' | 'kv-node-lmdb' | 'etcd-3.4';
  start(
    root: string,
    index: number,
    clientUrl: string,
    peerUrl: string,
    initialCluster: string,
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
    start: (root, index, clientUrl, peerUrl, initialCluster) => {
      // Its log goes to a file beside the data, as kv-node's, for a member that dies or stalls.
      const log = openSync(`${root}/m${index}.log`, 'a');
      const child = spawn(
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
    start: (root, index, clientUrl, peerUrl, initialCluster) => {
      // Errors (the log level) go to a file beside the data, for a member that dies mid-run.
      const log = openSync(`${root}/m${index}.log`, 'a');
      const child = spawn(
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

/** A running 3-member cluster. */
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
 * Starts 3 members of `system` on loopback (client ports `basePort + 10 * i`, peer ports one
 * above) in a fresh temporary directory, and waits until each answers a put.
 */
export async function startBenchCluster(
  system: BenchSystem,
  basePort: number,
): Promise<BenchCluster> {
  const root = await mkdtemp(`${tmpdir()}/kv-compare-`);
  // kv-node members share a random peer secret (never derived); etcd ignores the file.
  await writeFile(`${root}/peer-secret`, 'compare-etcd-bench-peer-secret\n', { mode: 0o600 });
  const members = [0, 1, 2].map((index) => ({
    index,
    clientUrl: `http://127.0.0.1:${basePort + 10 * index}`,
    peerUrl: `http://127.0.0.1:${basePort + 10 * index + 1}`,
  }));
  const initialCluster = members.map((member) => `m${member.index}=${member.peerUrl}`).join(',');
  const startMember = (index: number): ChildProcess => {
    const member = members[index] as (typeof members)[number];
    return system.start(root, index, member.clientUrl, member.peerUrl, initialCluster);
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
