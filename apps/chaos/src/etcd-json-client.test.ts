import { afterEach, describe, expect, it } from 'vitest';
import { FakeEtcdServer } from '../test/fake-etcd-server.js';
import { EtcdJsonClient } from './etcd-json-client.js';
import { KvRequestError } from './kv-request-error.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(timeoutMs = 2000) {
  const server = await FakeEtcdServer.start();
  cleanups.push(() => server.close());
  const client = new EtcdJsonClient({ endpoint: server.endpoint, timeoutMs });
  cleanups.push(() => client.close());
  return { server, client };
}

describe('EtcdJsonClient', () => {
  it('puts, reads and compares-and-sets through the v3 JSON API', async () => {
    const { client } = await setup();
    expect(await client.range('x')).toEqual([]);
    // The fake store starts at revision 1; each write's revision is the one after.
    expect(await client.put('x', '1')).toBe(2);
    expect((await client.range('x')).map((kv) => kv.value)).toEqual(['1']);
    expect(await client.compareAndSet('x', '2', '3')).toBe(false);
    expect(await client.compareAndSet('x', '1', '3')).toBe(3);
    await client.put('x/y', 'z');
    await client.put('w', 'v');
    expect((await client.range('x', { prefix: true })).map((kv) => kv.key)).toEqual(['x', 'x/y']);
    expect((await client.rangeAll()).map((kv) => kv.key).sort()).toEqual(['w', 'x', 'x/y']);
  });

  it('reads every key in pages when the store is larger than one page', async () => {
    const { server, client } = await setup();
    const keys = Array.from({ length: 7 }, (_, index) => `k${index}`);
    for (const key of keys) await client.put(key, `v-${key}`);
    const before = server.requests;
    const all = await client.rangeAll(3);
    expect(all.map((kv) => kv.key)).toEqual(keys);
    expect(all.map((kv) => kv.value)).toEqual(keys.map((key) => `v-${key}`));
    // Pages of 3, 3 and 1 keys.
    expect(server.requests - before).toBe(3);
  });

  it('reads the cluster view', async () => {
    const { client } = await setup();
    expect(await client.cluster()).toMatchObject({ role: 'leader', leaderId: '1' });
  });

  it('reports errors the server marks definite as definite', async () => {
    const { server, client } = await setup();
    server.faults.errorStatus = { status: 503, definite: true };
    await expect(client.put('x', '1')).rejects.toMatchObject({ definite: true, status: 503 });
  });

  it('reports a 504 as indeterminate', async () => {
    const { server, client } = await setup();
    server.faults.errorStatus = { status: 504, definite: false };
    await expect(client.put('x', '1')).rejects.toMatchObject({ definite: false, status: 504 });
  });

  it('reports a timeout as indeterminate', async () => {
    const { server, client } = await setup(100);
    server.faults.hang = true;
    const error = await client.put('x', '1').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KvRequestError);
    expect(error).toMatchObject({ definite: false, reason: 'timeout' });
  });

  it('reports a refused connection as definite', async () => {
    const { server } = await setup();
    const endpoint = server.endpoint;
    await server.close();
    cleanups.length = 0;
    const client = new EtcdJsonClient({ endpoint });
    cleanups.push(() => client.close());
    await expect(client.put('x', '1')).rejects.toMatchObject({
      definite: true,
      reason: 'ECONNREFUSED',
    });
  });
});
