/**
 * `etcdctl lock` and `etcdctl elect` (etcd 3.4's client-side concurrency recipes over KV, Lease
 * and Watch) against a 3-member kv-node cluster; skipped with a message without etcdctl.
 */

import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessCluster } from './support/process-cluster.js';
import { ProcessCluster as Cluster, buildCli } from './support/process-cluster.js';

function hasEtcdctl(): boolean {
  try {
    execFileSync('etcdctl', ['version'], {
      stdio: 'ignore',
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    return true;
  } catch {
    return false;
  }
}

const etcdctlPresent = hasEtcdctl();
if (!etcdctlPresent) {
  console.warn(
    'etcdctl not found on PATH (Debian: apt-get install etcd-client): its tests are skipped',
  );
}

const appRoot = new URL('..', import.meta.url).pathname;
let buildDir: string;
let cluster: ProcessCluster;

/** A running etcdctl and everything it printed so far. */
interface Etcdctl {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts etcdctl 3 against every member (stopped by the test, by pid). */
function startEtcdctl(args: string[]): Etcdctl {
  const endpoints = cluster.members.map((member) => new URL(member.clientUrl).host).join(',');
  const child = spawn('etcdctl', [`--endpoints=${endpoints}`, '--dial-timeout=5s', ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Resolves once `process`'s stdout matches `pattern`; rejects if it exits first. */
async function printed(process: Etcdctl, pattern: RegExp): Promise<string> {
  for (;;) {
    const match = pattern.exec(process.stdout());
    if (match !== null) return match[0];
    if (process.child.exitCode !== null) {
      throw new Error(`etcdctl exited ${process.child.exitCode}: ${process.stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function stop(process: Etcdctl): void {
  if (process.child.exitCode === null && process.child.pid !== undefined) {
    process.child.kill('SIGINT');
  }
}

beforeAll(async () => {
  buildDir = `${appRoot}/dist-bench/grpc-lock-test-${process.pid}`;
  cluster = await Cluster.create(await buildCli(buildDir), 3);
  cluster.startAll();
  await cluster.waitReady();
  await cluster.leader();
}, 120_000);

afterAll(async () => {
  await cluster?.destroy();
  await rm(buildDir, { recursive: true, force: true });
});

describe.skipIf(!etcdctlPresent)('etcdctl lock', { timeout: 60_000 }, () => {
  it('serializes two contenders: the second runs only after the first released', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'kv-lock-'));
    const log = join(folder, 'log');
    const contenders: Etcdctl[] = [];
    try {
      // Each holder writes start, waits, writes end: with a working lock the lines never
      // interleave, whichever contender wins.
      for (const name of ['a', 'b']) {
        contenders.push(
          startEtcdctl([
            'lock',
            'mylock',
            '--',
            'sh',
            '-c',
            `echo start ${name} >> ${log}; sleep 1; echo end ${name} >> ${log}`,
          ]),
        );
      }
      const codes = await Promise.all(contenders.map((contender) => contender.exited));
      expect(codes, contenders.map((contender) => contender.stderr()).join('\n')).toEqual([0, 0]);
      const lines = (await readFile(log, 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(4);
      const first = (lines[0] as string).split(' ')[1] as string;
      const second = first === 'a' ? 'b' : 'a';
      expect(lines).toEqual([`start ${first}`, `end ${first}`, `start ${second}`, `end ${second}`]);
    } finally {
      contenders.forEach(stop);
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('prints the lock key and holds it until interrupted; a second waits for it', async () => {
    const holder = startEtcdctl(['lock', 'held-lock']);
    let waiter: Etcdctl | undefined;
    try {
      const key = await printed(holder, /^held-lock\/[0-9a-f]+$/m);
      waiter = startEtcdctl(['lock', 'held-lock']);
      stop(holder);
      expect(await holder.exited).toBe(0);
      const next = await printed(waiter, /^held-lock\/[0-9a-f]+$/m);
      expect(next).not.toBe(key);
    } finally {
      stop(holder);
      if (waiter !== undefined) stop(waiter);
    }
  });
});

describe.skipIf(!etcdctlPresent)('etcdctl elect', { timeout: 60_000 }, () => {
  it('has one leader at a time, and the observer sees each', async () => {
    const observer = startEtcdctl(['elect', '-l', 'myelection']);
    const alpha = startEtcdctl(['elect', 'myelection', 'alpha']);
    let beta: Etcdctl | undefined;
    try {
      await printed(alpha, /^myelection\/[0-9a-f]+\nalpha$/m);
      await printed(observer, /^myelection\/[0-9a-f]+\nalpha$/m);
      beta = startEtcdctl(['elect', 'myelection', 'beta']);
      // alpha resigns when interrupted: then beta leads, and the observer says so.
      stop(alpha);
      expect(await alpha.exited).toBe(0);
      await printed(beta, /^myelection\/[0-9a-f]+\nbeta$/m);
      await printed(observer, /^myelection\/[0-9a-f]+\nbeta$/m);
      expect(beta.stdout()).not.toMatch(/alpha/);
    } finally {
      [observer, alpha, beta].forEach((process) => process !== undefined && stop(process));
    }
  });
});
