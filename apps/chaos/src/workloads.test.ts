import { HistoryRecorder } from '@x/linearizability';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeEtcdServer } from '../test/fake-etcd-server.js';
import { checkLinearizable, checkNoFailedWriteVisible, checkSetReads } from './checks.js';
import { EtcdJsonClient } from './etcd-json-client.js';
import type { OperationSample } from './operation-sample.js';
import { runRegisterWorkload } from './register-workload.js';
import { SeededRandom } from './seeded-random.js';
import { runSetWorkload } from './set-workload.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup() {
  const server = await FakeEtcdServer.start();
  cleanups.push(() => server.close());
  const client = new EtcdJsonClient({ endpoint: server.endpoint, timeoutMs: 300 });
  cleanups.push(() => client.close());
  const start = performance.now();
  return { server, client, now: () => performance.now() - start };
}

/** Stops after `operations` operations have started. */
function stopAfter(operations: number): () => boolean {
  let started = 0;
  return () => started++ >= operations;
}

describe('runRegisterWorkload', () => {
  it('records a linearizable history against a correct single-copy store', async () => {
    const { client, now } = await setup();
    const recorder = new HistoryRecorder({ clock: { now } });
    const samples: OperationSample[] = [];
    const result = await runRegisterWorkload({
      clients: [client],
      recorder,
      random: new SeededRandom(1),
      workers: 8,
      workersPerKey: 4,
      operationsPerKey: 25,
      now,
      stopping: stopAfter(300),
      onSample: (sample) => samples.push(sample),
    });
    expect(result.keys.length).toBeGreaterThanOrEqual(4);
    expect(new Set(result.keys.map((key) => key.split('/')[1]))).toEqual(new Set(['0', '1']));
    const ops = new Set(recorder.events.map((event) => event.op));
    expect(ops).toEqual(new Set(['read', 'write', 'cas']));
    expect(checkLinearizable(recorder.events).report.passed).toBe(true);
    expect(checkNoFailedWriteVisible(recorder.events).passed).toBe(true);
    expect(samples.every((sample) => sample.outcome === 'ok')).toBe(true);
  });

  it('reads and writes only when compare-and-set is off (quorum mode has none)', async () => {
    const { client, now } = await setup();
    const recorder = new HistoryRecorder({ clock: { now } });
    await runRegisterWorkload({
      clients: [client],
      recorder,
      random: new SeededRandom(1),
      workers: 8,
      workersPerKey: 4,
      operationsPerKey: 25,
      compareAndSet: false,
      now,
      stopping: stopAfter(300),
    });
    expect(new Set(recorder.events.map((event) => event.op))).toEqual(new Set(['read', 'write']));
    expect(checkLinearizable(recorder.events).report.passed).toBe(true);
  });

  it('is caught when the store serves stale reads (the checker bites)', async () => {
    const { server, client, now } = await setup();
    server.faults.staleReads = true;
    const recorder = new HistoryRecorder({ clock: { now } });
    await runRegisterWorkload({
      clients: [client],
      recorder,
      random: new SeededRandom(2),
      workers: 4,
      workersPerKey: 4,
      now,
      stopping: stopAfter(200),
    });
    const { report, result } = checkLinearizable(recorder.events);
    expect(report.passed).toBe(false);
    expect(result.outcome).toBe('not-linearizable');
  });

  it('records timeouts as info and carries on as a new process', async () => {
    const { server, client, now } = await setup();
    server.faults.hang = true;
    const recorder = new HistoryRecorder({ clock: { now } });
    await runRegisterWorkload({
      clients: [client],
      recorder,
      random: new SeededRandom(3),
      workers: 1,
      workersPerKey: 1,
      backoffMs: 1,
      now,
      stopping: stopAfter(2),
    });
    const completions = recorder.events.filter((event) => event.type !== 'invoke');
    expect(completions.map((event) => event.type)).toEqual(['info', 'info']);
    expect(completions.map((event) => event.process)).toEqual([0, 1]);
  });

  it('is caught when a write reported as definitely failed becomes visible', async () => {
    const { server, client, now } = await setup();
    const recorder = new HistoryRecorder({ clock: { now } });
    const options = {
      clients: [client],
      recorder,
      random: new SeededRandom(4),
      workers: 2,
      workersPerKey: 2,
      backoffMs: 1,
      now,
    };
    server.faults.applyThenFailDefinitely = true;
    await runRegisterWorkload({ ...options, stopping: stopAfter(20) });
    server.faults.applyThenFailDefinitely = false;
    await runRegisterWorkload({ ...options, stopping: stopAfter(20) });
    expect(checkNoFailedWriteVisible(recorder.events).passed).toBe(false);
  });
});

describe('runSetWorkload', () => {
  it('adds unique keys and sorts them by outcome', async () => {
    const { server, client, now } = await setup();
    const first = await runSetWorkload({
      clients: [client],
      workers: 3,
      now,
      stopping: stopAfter(30),
    });
    expect(first.acknowledged).toHaveLength(30);
    expect(new Set(first.acknowledged).size).toBe(30);
    const keys = new Set((await client.range('s/', { prefix: true })).map((kv) => kv.key));
    expect(checkSetReads(first, new Map([['n1', keys]])).every((report) => report.passed)).toBe(
      true,
    );

    server.faults.errorStatus = { status: 503, definite: true };
    const second = await runSetWorkload({
      clients: [client],
      workers: 1,
      backoffMs: 1,
      keyPrefix: 't/',
      now,
      stopping: stopAfter(3),
    });
    expect(second.failed).toHaveLength(3);
  });

  it('follows the current nodes: workers move to a node added and leave one removed', async () => {
    const { now } = await setup();
    const servers = [await FakeEtcdServer.start(), await FakeEtcdServer.start()];
    const clients = servers.map(
      (server) => new EtcdJsonClient({ endpoint: server.endpoint, timeoutMs: 300 }),
    );
    for (const [index, server] of servers.entries()) {
      cleanups.push(() => server.close());
      cleanups.push(() => clients[index]?.close());
    }
    // Node 0 alone for the first 10 operations, node 1 alone after.
    let operations = 0;
    const samples: OperationSample[] = [];
    await runSetWorkload({
      clients,
      nodes: () => (operations < 10 ? [0] : [1]),
      workers: 2,
      now,
      stopping: () => operations++ >= 20,
      onSample: (sample) => samples.push(sample),
    });
    const nodes = samples.map((sample) => sample.node);
    expect(new Set(nodes.slice(0, 8))).toEqual(new Set([0]));
    expect(new Set(nodes.slice(-8))).toEqual(new Set([1]));
    expect((await clients[1]!.range('s/', { prefix: true })).length).toBeGreaterThan(0);
  });

  it('reports acknowledged keys missing from a node', () => {
    const reports = checkSetReads(
      { acknowledged: ['a', 'b'], failed: ['c'], indeterminate: [] },
      new Map<string, Set<string> | Error>([
        ['n1', new Set(['a', 'b'])],
        ['n2', new Set(['a', 'c'])],
        ['n3', new Error('down')],
      ]),
    );
    expect(reports.map((report) => report.passed)).toEqual([false, false]);
    expect(reports[0]?.detail).toContain('n2 lacks 1 (first b)');
    expect(reports[0]?.detail).toContain('n3: final read failed');
    expect(reports[1]?.detail).toContain('n2 holds 1 (first c)');
  });
});
