/** The client port serves HTTPS with --cert-file / --key-file (certificate made with openssl). */

import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config/node-config.js';
import { silentLogger } from '../src/logging/logger.js';
import type { RunningNode } from '../src/node/run-node.js';
import { startNode } from '../src/node/run-node.js';
import { freePort } from './support/process-cluster.js';
import { singleReplicaStarter } from './support/single-replica.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let root: string;
let node: RunningNode | undefined;
let port: number;
let certificate: Buffer;

describe.skipIf(!hasOpenssl())('client TLS', () => {
  beforeAll(async () => {
    root = await mkdtemp(`${tmpdir()}/kv-tls-`);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        `${root}/key.pem`,
        '-out',
        `${root}/cert.pem`,
      ],
      { stdio: 'ignore' },
    );
    certificate = await readFile(`${root}/cert.pem`);
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
});
