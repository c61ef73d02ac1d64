import { describe, expect, it } from 'vitest';
import { ManualTimers } from '../test/manual-timers.js';
import { ReplicaNetwork } from '../test/replica-network.js';
import { quorumRead } from './quorum-read.js';
import { quorumWrite } from './quorum-write.js';

const nodes = ['a', 'b', 'c', 'd', 'e'];
const key = 'k';
const v1 = { value: 'one', version: { counter: 1, writer: 'w' } };
const v2 = { value: 'two', version: { counter: 2, writer: 'w' } };

function setup() {
  const timers = new ManualTimers();
  const network = new ReplicaNetwork<string>(timers, nodes);
  async function run<T>(operation: Promise<T>): Promise<T> {
    let settled = false;
    const done = operation.finally(() => {
      settled = true;
    });
    done.catch(() => undefined);
    for (let step = 0; step < 1000 && !settled; step++) await timers.advance(1);
    return done;
  }
  return { timers, network, run, common: { nodes, replicas: network, key, timers, timeoutMs: 50 } };
}

describe('quorumWrite', () => {
  it('waits for the write quorum it is given', async () => {
    const { network, run, common } = setup();
    network.setLatency('e', 20);
    const report = await run(quorumWrite({ ...common, value: v1, writeQuorum: 5 }));
    expect(report.accepted).toHaveLength(5);
    expect(report.required).toBe(5);
  });

  it('stops waiting when aborted, leaving the value where it arrived', async () => {
    const { network, run, common } = setup();
    const controller = new AbortController();
    network.cutLinks.add('d');
    network.cutLinks.add('e');
    network.cutLinks.add('c');
    const write = run(quorumWrite({ ...common, value: v1, signal: controller.signal }));
    const failure = write.catch((error: unknown) => error);
    controller.abort();
    expect(await failure).toMatchObject({ operation: 'write', reason: 'aborted' });
  });
});

describe('quorumRead', () => {
  it('waits for the read quorum it is given and does not repair with mode none', async () => {
    const { network, run, common } = setup();
    await run(quorumWrite({ ...common, value: v1, writeQuorum: 5 }));
    network.cutLinks.add('d');
    network.cutLinks.add('e');
    await run(quorumWrite({ ...common, value: v2 }));
    network.cutLinks.clear();
    network.setLatency('a', 10);
    network.setLatency('b', 10);
    network.setLatency('c', 10);
    const result = await run(quorumRead({ ...common, readQuorum: 3, readRepair: 'none' }));
    expect(result.value).toEqual(v2);
    expect(result.report.accepted).toHaveLength(3);
    expect(result.staleNodes).toEqual(['d', 'e']);
    expect(await run(result.repair)).toEqual({ repaired: [], failed: [] });
    expect(network.valueAt('d', key)).toEqual(v1);
  });

  it('returns at once when the newest value is already on a write quorum, repairing the rest in the background', async () => {
    const { network, run, common } = setup();
    await run(quorumWrite({ ...common, value: v1, writeQuorum: 5 }));
    network.cutLinks.add('e');
    network.cutLinks.add('d');
    await run(quorumWrite({ ...common, value: v2 }));
    network.cutLinks.clear();
    const result = await run(
      quorumRead({ ...common, readQuorum: 5, writeQuorum: 3, readRepair: 'sync' }),
    );
    expect(result.value).toEqual(v2);
    expect(network.valueAt('d', key)).toEqual(v1);
    expect(await run(result.repair)).toEqual({ repaired: ['d', 'e'], failed: [] });
    expect(network.valueAt('e', key)).toEqual(v2);
  });

  it('reports the stale replicas an asynchronous repair could not write', async () => {
    const { network, run, common } = setup();
    await run(quorumWrite({ ...common, value: v1, writeQuorum: 5 }));
    network.cutLinks.add('e');
    network.cutLinks.add('d');
    await run(quorumWrite({ ...common, value: v2 }));
    network.cutLinks.clear();
    network.failingDisks.add('e');
    const result = await run(quorumRead({ ...common, readQuorum: 5, readRepair: 'async' }));
    const repair = await run(result.repair);
    expect(repair.repaired).toEqual(['d']);
    expect(repair.failed.map(({ node }) => node)).toEqual(['e']);
    expect(repair.failed[0]?.error).toMatchObject({ code: 'EIO' });
  });
});
