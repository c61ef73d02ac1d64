// The README's example, kept runnable (async functions without await written with Promise.resolve).
import { expect, it } from 'vitest';
import {
  majority,
  nextVersion,
  nodeTimers,
  quorumCall,
  quorumRead,
  quorumWrite,
  validateQuorumSizes,
  type ReplicaClient,
  type Versioned,
} from './index.js';

it('runs the README example', async () => {
  const nodes = ['athens', 'byzantium', 'cyrene'];
  validateQuorumSizes({ clusterSize: 3, readQuorum: 2, writeQuorum: 2 });
  expect(majority(nodes.length)).toBe(2);

  const votes = await quorumCall({
    nodes,
    call: (node) => Promise.resolve({ granted: node !== 'cyrene' }),
    accept: (vote) => vote.granted,
    timeoutMs: 1000,
    timers: nodeTimers,
  });
  expect(votes.accepted.map(({ node }) => node)).toEqual(['athens', 'byzantium']);

  const stores = new Map(nodes.map((node) => [node, new Map<string, Versioned<string>>()]));
  const replicas: ReplicaClient<string, string> = {
    read: (node, key) => Promise.resolve(stores.get(node)!.get(key)),
    write: (node, key, value) => {
      const store = stores.get(node)!;
      const current = store.get(key);
      if (current === undefined || current.version.counter < value.version.counter) {
        store.set(key, value);
      }
      return Promise.resolve();
    },
  };
  const common = { nodes, replicas, key: 'title', timeoutMs: 1000, timers: nodeTimers };
  const before = await quorumRead({ ...common, readRepair: 'sync' });
  expect(before.value).toBeUndefined();
  await quorumWrite({
    ...common,
    value: { value: 'Microservices', version: nextVersion(before.value?.version, 'client-1') },
  });
  const after = await quorumRead({ ...common, readRepair: 'sync' });
  expect(after.value?.value).toBe('Microservices');
});
