// The three-server scenarios of Patterns of Distributed Systems, on the in-memory replica network
// and virtual time: leaderless replication with N = 3, R = 2, W = 2.
import { describe, expect, it } from 'vitest';
import { QuorumFailedError } from '../src/quorum-failed-error.js';
import { quorumRead } from '../src/quorum-read.js';
import type { ReadRepairMode } from '../src/quorum-read.js';
import { quorumWrite } from '../src/quorum-write.js';
import { nextVersion } from '../src/version.js';
import type { Versioned } from '../src/version.js';
import { ManualTimers } from './manual-timers.js';
import { ReplicaNetwork } from './replica-network.js';

const athens = 'athens';
const byzantium = 'byzantium';
const cyrene = 'cyrene';
const key = 'title';
const timeoutMs = 100;

function cluster() {
  const timers = new ManualTimers();
  const network = new ReplicaNetwork<string>(timers, [athens, byzantium, cyrene]);
  const common = { nodes: network.nodes, replicas: network, key, timers, timeoutMs };
  let counter = 0;
  const versioned = (value: string): Versioned<string> => ({
    value,
    version: { counter: ++counter, writer: 'alice' },
  });
  /** Runs an operation to completion on virtual time. */
  async function run<T>(operation: Promise<T>): Promise<T> {
    let settled = false;
    const done = operation.finally(() => {
      settled = true;
    });
    done.catch(() => undefined);
    for (let step = 0; step < 1000 && !settled; step++) await timers.advance(1);
    return done;
  }
  const write = (value: Versioned<string>) => run(quorumWrite({ ...common, value }));
  const read = (readRepair: ReadRepairMode) => run(quorumRead({ ...common, readRepair }));
  return { timers, network, versioned, write, read, run };
}

describe('athens, byzantium and cyrene (N = 3, R = 2, W = 2)', () => {
  it('a write with one link down still succeeds', async () => {
    const { network, versioned, write } = cluster();
    network.cutLinks.add(cyrene);
    const report = await write(versioned('Microservices'));
    expect(report.accepted.map(({ node }) => node).sort()).toEqual([athens, byzantium]);
    expect(report.pending).toEqual([cyrene]);
    expect(network.valueAt(athens, key)?.value).toBe('Microservices');
    expect(network.valueAt(cyrene, key)).toBeUndefined();
  });

  it('a stale replica is repaired by a read', async () => {
    const { network, versioned, write, read, run } = cluster();
    await write(versioned('Nitroservices'));
    network.crashed.add(cyrene);
    await write(versioned('Microservices'));
    network.crashed.delete(cyrene);
    expect(network.valueAt(cyrene, key)?.value).toBe('Nitroservices');

    // cyrene answers first, so it is in the read quorum and its old value is noticed.
    network.setLatency(athens, 5);
    network.setLatency(byzantium, 10);
    const result = await read('async');
    expect(result.value?.value).toBe('Microservices');
    expect(result.staleNodes).toEqual([cyrene]);
    expect(network.valueAt(cyrene, key)?.value).toBe('Nitroservices');
    expect(await run(result.repair)).toEqual({ repaired: [cyrene], failed: [] });
    expect(network.valueAt(cyrene, key)?.value).toBe('Microservices');
  });

  it('a stale replica is repaired by a read, synchronously, before the read returns', async () => {
    const { network, versioned, write, read, run } = cluster();
    network.crashed.add(cyrene);
    await write(versioned('Microservices'));
    network.crashed.delete(cyrene);
    network.setLatency(byzantium, 10);
    const result = await read('sync');
    expect(result.value?.value).toBe('Microservices');
    expect(network.valueAt(cyrene, key)?.value).toBe('Microservices');
    // byzantium, not yet known to hold the value, was written to as well.
    expect(await run(result.repair)).toEqual({ repaired: [byzantium, cyrene], failed: [] });
  });

  it('a read fails when synchronous repair cannot reach a quorum', async () => {
    const { network, versioned, write, read } = cluster();
    await write(versioned('Nitroservices'));
    // Only athens gets the new value.
    network.cutLinks.add(byzantium);
    network.cutLinks.add(cyrene);
    await expect(write(versioned('Microservices'))).rejects.toBeInstanceOf(QuorumFailedError);
    network.cutLinks.delete(byzantium);
    // byzantium answers reads but its disk refuses writes; cyrene stays unreachable.
    network.failingDisks.add(byzantium);

    const failure = await read('sync').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(QuorumFailedError);
    expect(failure).toMatchObject({ operation: 'read repair', reason: 'timeout' });
    expect((failure as QuorumFailedError).report.failed.map(({ node }) => node)).toEqual([
      byzantium,
    ]);

    // With cyrene crashed (refusing connections) rather than cut off, it fails at once.
    network.cutLinks.delete(cyrene);
    network.crashed.add(cyrene);
    await expect(read('sync')).rejects.toMatchObject({
      operation: 'read repair',
      reason: 'impossible',
    });
    // Without synchronous repair the same read returns the newest value.
    expect((await read('async')).value?.value).toBe('Microservices');
  });

  it('with the node holding the latest value down but a quorum still reachable, the latest value is still returned', async () => {
    const { network, versioned, write, read } = cluster();
    await write(versioned('Nitroservices'));
    network.cutLinks.add(cyrene);
    await write(versioned('Microservices'));
    network.cutLinks.delete(cyrene);
    // athens, holding the latest value, crashes; byzantium (also holding it) and cyrene answer.
    network.crashed.add(athens);
    const result = await read('sync');
    expect(result.value?.value).toBe('Microservices');
    expect(result.report.failed.map(({ node }) => node)).toEqual([athens]);
    expect(network.valueAt(cyrene, key)?.value).toBe('Microservices');
  });

  it('a write that reached only a minority reports failure to the client yet may be seen by a later read', async () => {
    const { network, versioned, write, read } = cluster();
    await write(versioned('Nitroservices'));
    network.cutLinks.add(byzantium);
    network.cutLinks.add(cyrene);
    const failure = await write(versioned('Microservices')).catch((error: unknown) => error);
    expect(failure).toMatchObject({ operation: 'write', reason: 'timeout' });
    expect((failure as QuorumFailedError).report.accepted.map(({ node }) => node)).toEqual([
      athens,
    ]);

    // The client was told the write failed, but athens kept it. Once the links heal, a read
    // quorum that includes athens returns it, and read repair spreads it: the failed write wins.
    network.cutLinks.clear();
    const result = await read('sync');
    expect(result.value?.value).toBe('Microservices');
    expect(network.valueAt(byzantium, key)?.value).toBe('Microservices');
  });

  it('a later write, versioned after the newest read, overwrites an earlier one everywhere', async () => {
    const { network, write, read } = cluster();
    await write({ value: 'first', version: nextVersion(undefined, 'alice') });
    const seen = await read('none');
    await write({ value: 'second', version: nextVersion(seen.value?.version, 'bob') });
    // A late duplicate of the first write does not roll a replica back.
    await write({ value: 'first', version: { counter: 1, writer: 'alice' } });
    for (const node of [athens, byzantium, cyrene]) {
      expect(network.valueAt(node, key)?.value).toBe('second');
    }
  });

  it('reading a key nobody holds returns nothing and repairs nothing', async () => {
    const { read } = cluster();
    const result = await read('sync');
    expect(result.value).toBeUndefined();
    expect(await result.repair).toEqual({ repaired: [], failed: [] });
  });

  it('a read that cannot reach a quorum fails', async () => {
    const { network, read } = cluster();
    network.crashed.add(athens);
    network.crashed.add(byzantium);
    await expect(read('none')).rejects.toMatchObject({ operation: 'read', reason: 'impossible' });
  });
});
