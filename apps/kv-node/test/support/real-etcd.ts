/**
 * A single real etcd 3.4 member (Debian's `etcd-server`) on free loopback ports: the oracle the
 * compatibility suites compare kv-node's answers with. Started in a fresh temporary directory,
 * ready once `/health` says so, and stopped by pid with its directory removed.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { freePort } from './process-cluster.js';

/** How long a started etcd may take to report itself healthy. */
const READY_TIMEOUT_MS = 30_000;

/** Options of {@link startRealEtcd}. */
export interface RealEtcdOptions {
  /** Flags after the single-member defaults (for example `['--metrics', 'extensive']`). */
  readonly extraArgs?: readonly string[];
  /** The environment etcd runs with (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

/** A running etcd member. */
export interface RealEtcd {
  /** `http://127.0.0.1:<port>`. */
  readonly clientUrl: string;
  /** `127.0.0.1:<port>` (gRPC clients' and etcdctl's endpoint form). */
  readonly address: string;
  /** Kills it by pid, waits for it to exit and removes its data; safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Starts a one-member etcd and resolves once its `/health` answers 200. If it exits or is not
 * healthy in time, it is killed and the error says which.
 */
export async function startRealEtcd(options: RealEtcdOptions = {}): Promise<RealEtcd> {
  const root = await mkdtemp(`${tmpdir()}/kv-real-etcd-`);
  const clientUrl = `http://127.0.0.1:${await freePort()}`;
  const peerUrl = `http://127.0.0.1:${await freePort()}`;
  const child = spawn(
    'etcd',
    [
      ...['--name', 's', '--data-dir', `${root}/data`],
      ...['--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl],
      ...['--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl],
      ...['--initial-cluster', `s=${peerUrl}`],
      ...(options.extraArgs ?? []),
    ],
    { stdio: 'ignore', ...(options.env === undefined ? {} : { env: options.env }) },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL');
    }
    await exited;
    await rm(root, { recursive: true, force: true });
  };
  try {
    await untilHealthy(child, clientUrl);
  } catch (error) {
    await stop();
    throw error;
  }
  return { clientUrl, address: new URL(clientUrl).host, stop };
}

async function untilHealthy(child: ChildProcess, clientUrl: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`etcd exited (${child.exitCode ?? child.signalCode}) before it was healthy`);
    }
    const response = await fetch(`${clientUrl}/health`).catch(() => undefined);
    if (response?.ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`etcd at ${clientUrl} was not healthy within ${READY_TIMEOUT_MS} ms`);
}
