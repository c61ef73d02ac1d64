/**
 * With --client-cert-auth and auth enabled, a request without a token is made as the user named
 * by its verified TLS client certificate's common name (CN), as etcd does.
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { Metadata, credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config/node-config.js';
import { etcdServices } from '../src/grpc/etcd-proto.js';
import { silentLogger } from '../src/logging/logger.js';
import type { RunningNode } from '../src/node/run-node.js';
import { startNode } from '../src/node/run-node.js';
import { freePort } from './support/process-cluster.js';
import { singleReplicaStarter } from './support/single-replica.js';
import { openssl, opensslPresent } from './support/test-certificate.js';

const b = (text: string): string => Buffer.from(text).toString('base64');

let root: string;
let node: RunningNode | undefined;
let port: number;
let ca: Buffer;
const identities = new Map<string, { cert: Buffer; key: Buffer }>();

/** A client key and certificate with CN `name`, signed by the test CA. */
async function clientIdentity(name: string): Promise<void> {
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${root}/${name}.key`);
  openssl(
    'req',
    '-new',
    '-key',
    `${root}/${name}.key`,
    '-subj',
    `/CN=${name}`,
    '-out',
    `${root}/${name}.csr`,
  );
  openssl(
    'x509',
    '-req',
    '-in',
    `${root}/${name}.csr`,
    '-CA',
    `${root}/ca.pem`,
    '-CAkey',
    `${root}/ca.key`,
    '-CAcreateserial',
    '-days',
    '1',
    '-out',
    `${root}/${name}.pem`,
  );
  identities.set(name, {
    cert: await readFile(`${root}/${name}.pem`),
    key: await readFile(`${root}/${name}.key`),
  });
}

function post(as: string, path: string, body: unknown): Promise<number> {
  const identity = identities.get(as) as { cert: Buffer; key: Buffer };
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: '127.0.0.1', port, path, method: 'POST', ca, ...identity },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(JSON.stringify(body));
  });
}

describe.skipIf(!opensslPresent)('client certificate identities', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    root = await mkdtemp(`${tmpdir()}/kv-auth-cn-`);
    // One self-signed certificate serves as the CA and as the server's certificate.
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-keyout',
      `${root}/ca.key`,
      '-out',
      `${root}/ca.pem`,
    );
    ca = await readFile(`${root}/ca.pem`);
    await clientIdentity('root');
    await clientIdentity('alice');
    await clientIdentity('mallory');
    port = await freePort();
    const config = buildConfig(
      new Map([
        ['data-dir', `${root}/data`],
        ['listen-client-urls', `https://127.0.0.1:${port}`],
        ['listen-peer-urls', `http://127.0.0.1:${await freePort()}`],
        ['cert-file', `${root}/ca.pem`],
        ['key-file', `${root}/ca.key`],
        ['trusted-ca-file', `${root}/ca.pem`],
        ['client-cert-auth', 'true'],
        ['auth-scrypt-cost', '4'],
      ]),
    );
    node = await startNode(config, silentLogger, singleReplicaStarter([]));
  });

  afterAll(async () => {
    await node?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('maps the CN to a user once auth is enabled', async () => {
    for (const [path, body] of [
      ['/v3/auth/user/add', { name: 'root', password: 'r' }],
      ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ['/v3/auth/role/add', { name: 'app' }],
      [
        '/v3/auth/role/grant',
        { name: 'app', perm: { permType: 2, key: b('app/'), range_end: b('app0') } },
      ],
      ['/v3/auth/user/add', { name: 'alice', password: 'a' }],
      ['/v3/auth/user/grant', { user: 'alice', role: 'app' }],
      ['/v3/auth/enable', {}],
    ] as const) {
      expect(await post('alice', path, body)).toBe(200);
    }
    expect(await post('root', '/v3/kv/put', { key: b('secret'), value: b('x') })).toBe(200);
    expect(await post('alice', '/v3/kv/put', { key: b('app/1'), value: b('1') })).toBe(200);
    expect(await post('alice', '/v3/kv/range', { key: b('app/1') })).toBe(200);
    expect(await post('alice', '/v3/kv/range', { key: b('secret') })).toBe(403);
    expect(await post('alice', '/v3/auth/user/list', {})).toBe(403);
    expect(await post('root', '/v3/auth/user/list', {})).toBe(200);
    // A certificate for a name that is not a user grants nothing.
    expect(await post('mallory', '/v3/kv/range', { key: b('app/1') })).toBe(403);
  });

  it('maps the CN to a user over gRPC too', async () => {
    const identity = identities.get('alice') as { cert: Buffer; key: Buffer };
    const Client = makeGenericClientConstructor(etcdServices().kv, 'KV');
    const client = new Client(
      `127.0.0.1:${port}`,
      credentials.createSsl(ca, identity.key, identity.cert),
    );
    type Unary = (
      request: unknown,
      metadata: Metadata,
      callback: (error: ServiceError | null) => void,
    ) => void;
    const call = (method: string, request: unknown): Promise<void> =>
      new Promise((resolve, reject) => {
        const unary = (client as unknown as Record<string, Unary>)[method] as Unary;
        unary.call(client, request, new Metadata(), (error) =>
          error === null ? resolve() : reject(error),
        );
      });
    try {
      await call('Put', { key: b('app/2'), value: b('2') });
      await call('Range', { key: b('app/2') });
      await expect(call('Range', { key: b('secret') })).rejects.toMatchObject({
        code: status.PERMISSION_DENIED,
        details: 'etcdserver: permission denied',
      });
    } finally {
      client.close();
    }
  });
});
