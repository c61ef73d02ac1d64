/**
 * The client port serves HTTPS with --cert-file / --key-file (certificate made with openssl), and
 * gRPC on the same port to clients that negotiate ALPN `h2`.
 */

import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { connect as connectTls } from 'node:tls';
import { promisify } from 'node:util';
import { Metadata, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config/node-config.js';
import { etcdServices } from '../src/grpc/etcd-proto.js';
import { silentLogger } from '../src/logging/logger.js';
import type { RunningNode } from '../src/node/run-node.js';
import { startNode } from '../src/node/run-node.js';
import { freePort } from './support/process-cluster.js';
import { singleReplicaStarter } from './support/single-replica.js';
import { opensslPresent, selfSignedCertificate } from './support/test-certificate.js';

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

let root: string;
let node: RunningNode | undefined;
let port: number;
let certificate: Buffer;

describe.skipIf(!opensslPresent)('client TLS', () => {
  beforeAll(async () => {
    root = await mkdtemp(`${tmpdir()}/kv-tls-`);
    ({ certificate } = await selfSignedCertificate(root));
    port = await freePort();
    const config = buildConfig(
      new Map([
        ['data-dir', `${root}/data`],
        ['listen-client-urls', `https://127.0.0.1:${port}`],
        ['listen-peer-urls', `http://127.0.0.1:${await freePort()}`],
        ['cert-file', `${root}/cert.pem`],
        ['key-file', `${root}/key.pem`],
      ]),
    );
    node = await startNode(config, silentLogger, singleReplicaStarter([]));
  });

  afterAll(async () => {
    await node?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('serves the API over https', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const outgoing = request(
        { host: '127.0.0.1', port, path: '/livez', ca: certificate, method: 'GET' },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve(`${response.statusCode} ${text}`));
        },
      );
      outgoing.on('error', reject);
      outgoing.end();
    });
    expect(body).toBe('200 ok\n');
  });

  it('keeps HTTP/1.1 for clients that offer it beside h2 (browsers, curl)', async () => {
    const protocol = await new Promise<string | false | null>((resolve, reject) => {
      const socket = connectTls(
        { host: '127.0.0.1', port, ca: certificate, ALPNProtocols: ['h2', 'http/1.1'] },
        () => {
          resolve(socket.alpnProtocol);
          socket.end();
        },
      );
      socket.on('error', reject);
    });
    expect(protocol).toBe('http/1.1');
  });

  it('serves gRPC to a client that negotiates h2', async () => {
    const Client = makeGenericClientConstructor(etcdServices().kv, 'KV');
    const client = new Client(`127.0.0.1:${port}`, credentials.createSsl(certificate));
    type Callback = (error: Error | null, response?: Record<string, unknown>) => void;
    const call = (method: string, request: unknown): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const unary = (client as unknown as Record<string, (...args: unknown[]) => void>)[
          method
        ] as (request: unknown, metadata: Metadata, callback: Callback) => void;
        unary.call(client, request, new Metadata(), (error, response) =>
          error === null ? resolve(response ?? {}) : reject(error),
        );
      });
    try {
      await call('Put', { key: Buffer.from('tls').toString('base64'), value: 'b2s=' });
      const range = (await call('Range', { key: Buffer.from('tls').toString('base64') })) as {
        kvs: { value: string }[];
      };
      expect(range.kvs[0]?.value).toBe('b2s=');
    } finally {
      client.close();
    }
  });

  it.skipIf(!hasEtcdctl())('serves etcdctl over TLS', async () => {
    const run = promisify(execFile);
    const etcdctl = (...args: string[]): Promise<{ stdout: string }> =>
      run(
        'etcdctl',
        [`--endpoints=https://127.0.0.1:${port}`, `--cacert=${root}/cert.pem`, ...args],
        { env: { ...process.env, ETCDCTL_API: '3' } },
      );
    expect((await etcdctl('put', 'over-tls', 'yes')).stdout).toBe('OK\n');
    expect((await etcdctl('get', 'over-tls')).stdout).toBe('over-tls\nyes\n');
  });
});
