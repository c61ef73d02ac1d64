// A scripted scenario with the toy register: the shape of a hand-written fault test.
import { describe, expect, it } from 'vitest';
import { Cluster, NodeUnavailableError, fixedLatency } from '../src/index.js';
import { ToyRegisterNode } from './toy-register.js';

async function settle<T>(cluster: Cluster<ToyRegisterNode>, promise: Promise<T>): Promise<T> {
  let outcome: { value: T } | undefined;
  void promise.then((value) => (outcome = { value }));
  await cluster.runUntil(() => outcome !== undefined, 10_000);
  return (outcome as { value: T }).value;
}

describe('scripted scenario: a minority partition and a crash', () => {
  it('keeps serving through the majority and returns the latest value after healing', async () => {
    const cluster = new Cluster<ToyRegisterNode>({
      seed: 'scenario',
      nodes: 3,
      network: { latency: fixedLatency(2) },
      createNode: (ports) => ToyRegisterNode.create(ports),
    });
    await cluster.start();
    const client = cluster.client(0);
    const write = (node: string, value: number): Promise<void> =>
      client.call(node, (toy) => toy.write('x', value));
    const read = (node: string): Promise<unknown> => client.call(node, (toy) => toy.read('x'));

    await settle(cluster, write('athens', 1));
    cluster.apply({ kind: 'isolate', node: 'athens' });
    await settle(cluster, write('byzantium', 2));
    expect(await settle(cluster, read('cyrene'))).toBe(2);

    // athens cannot reach a majority: its read does not complete while it is cut off.
    let isolatedRead: unknown = 'pending';
    void read('athens').then((value) => (isolatedRead = value));
    await cluster.runFor(500);
    expect(isolatedRead).toBe('pending');

    cluster.apply({ kind: 'heal' });
    await cluster.runUntil(() => isolatedRead !== 'pending');
    expect(isolatedRead).toBe(2);

    // A crash with power loss keeps what was fsynced: every acknowledged write.
    cluster.apply({ kind: 'crash', node: 'byzantium' });
    await expect(
      settle(
        cluster,
        read('byzantium').catch((error: unknown) => error),
      ),
    ).resolves.toBeInstanceOf(NodeUnavailableError);
    cluster.apply({ kind: 'restart', node: 'byzantium' });
    await cluster.runUntil(() => cluster.node('byzantium').state === 'running');
    expect(cluster.node('byzantium').requireInstance.timestampOf('x')[0]).toBeGreaterThanOrEqual(2);
    expect(await settle(cluster, read('byzantium'))).toBe(2);
  });
});
