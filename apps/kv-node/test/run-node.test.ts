/** startNode assembles data directory, HTTP API and replica, and shuts down gracefully. */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NodeConfig } from '../src/config/node-config.js';
import { buildConfig } from '../src/config/node-config.js';
import { silentLogger } from '../src/logging/logger.js';
import { startNode } from '../src/node/run-node.js';
import { freePort } from './support/process-cluster.js';
import { singleReplicaStarter } from './support/single-replica.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(`${tmpdir()}/kv-run-`);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function configOn(port: number): Promise<NodeConfig> {
  return buildConfig(
    new Map([
      ['data-dir', `${root}/data`],
      ['listen-client-urls', `http://127.0.0.1:${port}`],
      ['listen-peer-urls', `http://127.0.0.1:${await freePort()}`],
    ]),
  );
}

describe('startNode', () => {
  it('serves the API over the replica and shuts down in order', async () => {
    const port = await freePort();
    const events: string[] = [];
    const config = await configOn(port);
    const node = await startNode(config, silentLogger, singleReplicaStarter(events));
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/v1/kv/a`, { method: 'PUT', body: '1' })).status).toBe(201);
    expect(await (await fetch(`${base}/v1/kv/a`)).text()).toBe('1');
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    await node.stop();
    expect(events).toEqual(['start', 'transfer', 'close']);
    await expect(fetch(`${base}/livez`)).rejects.toThrow();
    // The data directory was released: a new node may open it.
    const again = await startNode(config, silentLogger, singleReplicaStarter([]));
    await again.stop();
  });

  it('fails fast on a client port in use, before starting the replica, and releases the directory', async () => {
    const port = await freePort();
    const events: string[] = [];
    const first = await startNode(await configOn(port), silentLogger, singleReplicaStarter([]));
    const otherRoot = await mkdtemp(`${tmpdir()}/kv-run2-`);
    const config = { ...(await configOn(port)), dataDir: `${otherRoot}/data` };
    await expect(startNode(config, silentLogger, singleReplicaStarter(events))).rejects.toThrow(
      /already in use/,
    );
    expect(events).toEqual([]);
    await first.stop();
    await startNode(config, silentLogger, singleReplicaStarter(events)).then((node) => node.stop());
    await rm(otherRoot, { recursive: true, force: true });
  });

  it('answers 503 while the replica is starting', async () => {
    const port = await freePort();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const starter = singleReplicaStarter([]);
    const starting = startNode(await configOn(port), silentLogger, async (options) => {
      await gate;
      return starter(options);
    });
    const base = `http://127.0.0.1:${port}`;
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(`${base}/v1/kv/a`, { method: 'PUT', body: '1' }).catch(
        () => undefined,
      );
      if (response !== undefined) {
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBe('1');
        expect((await fetch(`${base}/readyz`)).status).toBe(503);
        break;
      }
      if (attempt > 200) throw new Error('never listened');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    release();
    const node = await starting;
    expect((await fetch(`${base}/v1/kv/a`, { method: 'PUT', body: '1' })).status).toBe(201);
    await node.stop();
  });

  it('answers 503 to new requests once shutting down', async () => {
    const port = await freePort();
    const node = await startNode(await configOn(port), silentLogger, singleReplicaStarter([]));
    const base = `http://127.0.0.1:${port}`;
    const agentRequest = fetch(`${base}/v1/kv/b`, { method: 'PUT', body: '1' });
    const stopping = node.stop();
    const response = await agentRequest.catch(() => undefined);
    expect([201, 503, undefined]).toContain(response?.status);
    await stopping;
  });
});

describe('stopping the only member of a cluster', () => {
  it('hands leadership to nobody and warns of nothing', async () => {
    const port = await freePort();
    const warnings: string[] = [];
    const logger = {
      ...silentLogger,
      warn: (_fields: Record<string, unknown>, message: string) => warnings.push(message),
      error: (_fields: Record<string, unknown>, message: string) => warnings.push(message),
    };
    const node = await startNode(await configOn(port), logger);
    const base = `http://127.0.0.1:${port}`;
    // Ready once this member leads: then the stop has a leader to step down.
    while ((await fetch(`${base}/readyz`)).status !== 200) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await fetch(`${base}/v1/kv/a`, { method: 'PUT', body: '1' })).status).toBe(201);
    await node.stop();
    expect(warnings).toEqual([]);
  });
});
