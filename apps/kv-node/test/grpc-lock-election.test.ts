/**
 * `etcdctl lock` and `etcdctl elect` (etcd 3.4's client-side concurrency recipes over KV, Lease
 * and Watch) against a 3-member kv-node cluster (skipped with a message without etcdctl), and
 * etcd's server-side `v3lockpb.Lock` and `v3electionpb.Election` services called with grpc-js.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientReadableStream, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { Metadata, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdServices } from '../src/grpc/etcd-proto.js';
import type { ProcessCluster } from './support/process-cluster.js';
import { etcdctlPresent } from './support/etcd-binaries.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';

let started: StartedCluster | undefined;
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
  started = await startedCluster(3);
  cluster = started.cluster;
}, 120_000);

afterAll(async () => {
  await started?.stop();
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

type Unary = (
  request: unknown,
  metadata: Metadata,
  callback: (error: ServiceError | null, response?: Record<string, unknown>) => void,
) => void;

/** A grpc-js client of one of etcd's services on the first member (gateway message shapes). */
function serviceClient(definition: ServiceDefinition): {
  call(method: string, request: unknown): Promise<Record<string, unknown>>;
  stream(method: string, request: unknown): ClientReadableStream<Record<string, unknown>>;
  close(): void;
} {
  const Client = makeGenericClientConstructor(definition, 'Service');
  const host = new URL((cluster.members[0] as { clientUrl: string }).clientUrl).host;
  const client = new Client(host, credentials.createInsecure());
  const methods = client as unknown as Record<string, Unary>;
  return {
    call: (method, request) =>
      new Promise((resolve, reject) => {
        (methods[method] as Unary).call(client, request, new Metadata(), (error, response) =>
          error === null ? resolve(response ?? {}) : reject(error),
        );
      }),
    stream: (method, request) =>
      (
        methods[method] as unknown as (
          request: unknown,
        ) => ClientReadableStream<Record<string, unknown>>
      ).call(client, request),
    close: () => client.close(),
  };
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const text = (base64: unknown): string => Buffer.from(String(base64), 'base64').toString();

async function grantLease(): Promise<string> {
  const lease = serviceClient(etcdServices().lease);
  try {
    return String((await lease.call('LeaseGrant', { TTL: '30' })).ID);
  } finally {
    lease.close();
  }
}

describe('the v3lock service', { timeout: 60_000 }, () => {
  it('gives the lock to one caller at a time, the next after Unlock', async () => {
    const lock = serviceClient(etcdServices().lock);
    try {
      const [first, second] = [await grantLease(), await grantLease()];
      const held = await lock.call('Lock', { name: b64('svc-lock'), lease: first });
      expect(text(held.key)).toBe(`svc-lock/${BigInt(first).toString(16)}`);
      const order: string[] = [];
      const waiting = lock.call('Lock', { name: b64('svc-lock'), lease: second }).then((next) => {
        order.push('second acquired');
        return next;
      });
      // The second caller is in line (its key exists) but does not hold the lock yet.
      const kv = serviceClient(etcdServices().kv);
      try {
        for (;;) {
          const range = await kv.call('Range', {
            key: b64(`svc-lock/${BigInt(second).toString(16)}`),
          });
          if (range.count !== undefined) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        kv.close();
      }
      expect(order).toEqual([]);
      order.push('first unlocks');
      await lock.call('Unlock', { key: held.key });
      const next = await waiting;
      expect(text(next.key)).toBe(`svc-lock/${BigInt(second).toString(16)}`);
      expect(order).toEqual(['first unlocks', 'second acquired']);
      await lock.call('Unlock', { key: next.key });
      await expect(lock.call('Lock', { name: b64('svc-lock') })).rejects.toMatchObject({
        details: expect.stringMatching(/needs the lease/) as unknown,
      });
    } finally {
      lock.close();
    }
  });
});

describe('the v3election service', { timeout: 60_000 }, () => {
  it('elects one leader at a time; Leader, Proclaim, Observe and Resign as etcd', async () => {
    const election = serviceClient(etcdServices().election);
    const observer = election.stream('Observe', { name: b64('svc-election') });
    const observed: string[] = [];
    observer.on('data', (response: { kv?: { value?: string } }) => {
      observed.push(text(response.kv?.value ?? ''));
    });
    observer.on('error', () => undefined);
    try {
      await expect(election.call('Leader', { name: b64('svc-election') })).rejects.toMatchObject({
        details: 'election: no leader',
      });
      const [first, second] = [await grantLease(), await grantLease()];
      const alpha = await election.call('Campaign', {
        name: b64('svc-election'),
        lease: first,
        value: b64('alpha'),
      });
      const alphaKey = alpha.leader as Record<string, unknown>;
      expect(text(alphaKey.key)).toBe(`svc-election/${BigInt(first).toString(16)}`);
      const leader = await election.call('Leader', { name: b64('svc-election') });
      expect(text((leader.kv as { value: string }).value)).toBe('alpha');

      let betaElected = false;
      const beta = election
        .call('Campaign', { name: b64('svc-election'), lease: second, value: b64('beta') })
        .then((response) => {
          betaElected = true;
          return response;
        });
      await election.call('Proclaim', { leader: alphaKey, value: b64('alpha-2') });
      expect(
        text(
          ((await election.call('Leader', { name: b64('svc-election') })).kv as { value: string })
            .value,
        ),
      ).toBe('alpha-2');
      expect(betaElected).toBe(false);
      await election.call('Resign', { leader: alphaKey });
      const betaKey = (await beta).leader as Record<string, unknown>;
      expect(text(betaKey.key)).toBe(`svc-election/${BigInt(second).toString(16)}`);
      // The resigned leader can no longer proclaim.
      await expect(
        election.call('Proclaim', { leader: alphaKey, value: b64('stale') }),
      ).rejects.toMatchObject({ details: 'election: not leader' });
      await election.call('Resign', { leader: betaKey });
      for (;;) {
        if (observed.includes('beta')) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(observed).toEqual(['alpha', 'alpha-2', 'beta']);
    } finally {
      observer.cancel();
      election.close();
    }
  });
});
