import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixedLatency, uniformLatency } from './latency.js';
import { ProcessGate } from './process-gate.js';
import { SimulatedNetwork } from './simulated-network.js';
import { Simulation } from './simulation.js';

const names = ['athens', 'byzantium', 'cyrene', 'delphi', 'ephesus'];

interface Received {
  from: string;
  to: string;
  type: number;
  payload: Uint8Array;
  time: number;
}

function setup(conditions: ConstructorParameters<typeof SimulatedNetwork>[1] = {}, seed = 1) {
  const simulation = new Simulation({ seed });
  const network = new SimulatedNetwork(simulation, conditions);
  const received: Received[] = [];
  const gates = new Map<string, ProcessGate>();
  const endpoints = new Map(
    names.map((name) => {
      const gate = new ProcessGate(simulation, name);
      gate.markRunning();
      gates.set(name, gate);
      const endpoint = network.connect(name, gate);
      endpoint.onMessage((from, type, payload) =>
        received.push({ from, to: name, type, payload, time: simulation.now }),
      );
      return [name, endpoint] as const;
    }),
  );
  const send = (from: string, to: string, type: number, bytes: number[] = []): void =>
    endpoints.get(from)!.send(to, type, new Uint8Array(bytes));
  const reach = async (): Promise<Set<string>> => {
    received.length = 0;
    for (const from of names) for (const to of names) if (from !== to) send(from, to, 1);
    await simulation.runFor(1_000);
    return new Set(received.map((message) => `${message.from}>${message.to}`));
  };
  return { simulation, network, received, gates, endpoints, send, reach };
}

describe('SimulatedNetwork', () => {
  it('keeps FIFO order per connection while reordering across connections', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), async (seed) => {
        const { simulation, received, send } = setup({ latency: uniformLatency(0, 20) }, seed);
        for (let i = 0; i < 30; i++) {
          send('athens', 'byzantium', i);
          send('cyrene', 'byzantium', 100 + i);
          await simulation.runFor(0.5);
        }
        await simulation.runFor(100);
        const fromAthens = received.filter((m) => m.from === 'athens').map((m) => m.type);
        const fromCyrene = received.filter((m) => m.from === 'cyrene').map((m) => m.type);
        expect(fromAthens).toEqual([...fromAthens].sort((a, b) => a - b));
        expect(fromCyrene).toEqual([...fromCyrene].sort((a, b) => a - b));
        expect(received).toHaveLength(60);
      }),
      { numRuns: 25 },
    );
    // Across connections the interleaving differs from the send order at least sometimes.
    const { simulation, received, send } = setup({ latency: uniformLatency(0, 20) });
    for (let i = 0; i < 30; i++) {
      send('athens', 'byzantium', i);
      send('cyrene', 'byzantium', 100 + i);
    }
    await simulation.runFor(100);
    const sendOrder = Array.from({ length: 30 }, (_, i) => [i, 100 + i]).flat();
    expect(received.map((m) => m.type)).not.toEqual(sendOrder);
  });

  it('copies payloads on send and on each delivery', async () => {
    const { simulation, received, endpoints } = setup({ duplicateRate: 1 });
    const payload = new Uint8Array([1, 2, 3]);
    endpoints.get('athens')!.send('byzantium', 7, payload);
    payload[0] = 99;
    await simulation.runFor(100);
    expect(received).toHaveLength(2);
    expect([...received[0]!.payload]).toEqual([1, 2, 3]);
    received[0]!.payload[1] = 42;
    expect([...received[1]!.payload]).toEqual([1, 2, 3]);
  });

  it('loses messages at the configured rate', async () => {
    const { simulation, network, received, send } = setup({ lossRate: 0.3 });
    for (let i = 0; i < 1_000; i++) send('athens', 'byzantium', 1);
    await simulation.runFor(100);
    expect(received.length).toBeGreaterThan(600);
    expect(received.length).toBeLessThan(800);
    expect(network.stats.dropped).toBe(1_000 - received.length);
  });

  it('isolates, partitions, blocks one way, bridges, rings and heals', async () => {
    const { network, reach } = setup();
    network.isolate('athens');
    let links = await reach();
    expect([...links].some((link) => link.includes('athens'))).toBe(false);
    expect(links.size).toBe(12);

    network.partition(['athens', 'byzantium']);
    links = await reach();
    expect(links.has('athens>byzantium')).toBe(true);
    expect(links.has('athens>cyrene')).toBe(false);
    expect(links.has('cyrene>ephesus')).toBe(true);
    expect(links.size).toBe(2 + 6);

    network.heal();
    network.blockOneWay('athens', 'byzantium');
    links = await reach();
    expect(links.has('athens>byzantium')).toBe(false);
    expect(links.has('byzantium>athens')).toBe(true);

    network.bridge('cyrene');
    links = await reach();
    expect(links.has('athens>delphi')).toBe(false);
    expect(links.has('athens>cyrene')).toBe(true);
    expect(links.has('cyrene>delphi')).toBe(true);
    expect(links.has('athens>byzantium')).toBe(true);

    network.ring();
    links = await reach();
    expect(links.has('athens>byzantium')).toBe(true);
    expect(links.has('athens>ephesus')).toBe(true);
    expect(links.has('athens>cyrene')).toBe(false);
    expect(links.size).toBe(10);

    network.heal();
    expect((await reach()).size).toBe(20);
  });

  it('drops what is in flight when a link is cut or a connection resets', async () => {
    const { simulation, network, received, send } = setup({ latency: fixedLatency(10) });
    send('athens', 'byzantium', 1);
    send('byzantium', 'athens', 2);
    await simulation.runFor(5);
    network.isolate('athens');
    await simulation.runFor(10);
    network.heal();
    await simulation.runFor(10);
    expect(received).toEqual([]);
    send('athens', 'byzantium', 3);
    network.resetConnection('athens', 'byzantium');
    send('athens', 'byzantium', 4);
    await simulation.runFor(20);
    expect(received.map((m) => m.type)).toEqual([4]);
  });

  it('holds deliveries to a paused node, then delivers them in order; drops them after a crash', async () => {
    const { simulation, gates, received, send } = setup({ latency: fixedLatency(1) });
    gates.get('byzantium')!.pause();
    send('athens', 'byzantium', 1);
    send('athens', 'byzantium', 2);
    await simulation.runFor(50);
    expect(received).toEqual([]);
    gates.get('byzantium')!.resume();
    await simulation.runFor(0);
    expect(received.map((m) => [m.type, m.time])).toEqual([
      [1, 50],
      [2, 50],
    ]);
    send('athens', 'cyrene', 3);
    gates.get('cyrene')!.crash();
    send('athens', 'cyrene', 4);
    await simulation.runFor(50);
    expect(received.map((m) => m.type)).toEqual([1, 2]);
  });

  it('drops exactly the messages a filter rejects, until it is removed', async () => {
    const { simulation, network, received, send } = setup();
    const remove = network.addFilter((message) => !(message.type === 9 && message.to === 'cyrene'));
    send('athens', 'cyrene', 9);
    send('athens', 'cyrene', 8);
    send('athens', 'byzantium', 9);
    await simulation.runFor(100);
    expect(received.map((m) => `${m.to}:${m.type}`).sort()).toEqual(['byzantium:9', 'cyrene:8']);
    remove();
    send('athens', 'cyrene', 9);
    await simulation.runFor(100);
    expect(received).toHaveLength(3);
  });

  it('resets connections at random and bounds the messages in flight per link', async () => {
    const resets = setup({ resetRate: 0.2, latency: fixedLatency(5) });
    for (let i = 0; i < 200; i++) resets.send('athens', 'byzantium', i);
    await resets.simulation.runFor(50);
    expect(resets.network.stats.resets).toBeGreaterThan(10);
    // A reset drops what was in flight, so only messages after the last reset arrive, in order.
    const types = resets.received.map((m) => m.type);
    expect(types).toEqual([...types].sort((a, b) => a - b));
    expect(types.length).toBeLessThan(50);

    const bounded = setup({ maxInFlight: 10, latency: fixedLatency(5) });
    for (let i = 0; i < 50; i++) bounded.send('athens', 'byzantium', i);
    await bounded.simulation.runFor(50);
    expect(bounded.received.map((m) => m.type)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('applies per-link conditions to one direction only', async () => {
    const { simulation, network, received, send } = setup({ latency: fixedLatency(1) });
    network.setLink('athens', 'byzantium', { latency: fixedLatency(100) });
    send('athens', 'byzantium', 1);
    send('byzantium', 'athens', 2);
    await simulation.runFor(10);
    expect(received.map((m) => m.type)).toEqual([2]);
    await simulation.runFor(100);
    expect(received.map((m) => [m.type, m.time])).toEqual([
      [2, 1],
      [1, 100],
    ]);
  });

  it('rejects message types outside 16 bits and ignores unknown peers', async () => {
    const { simulation, network, endpoints, received } = setup();
    const athens = endpoints.get('athens')!;
    expect(() => athens.send('byzantium', 65_536, new Uint8Array())).toThrow(RangeError);
    expect(() => athens.send('byzantium', -1, new Uint8Array())).toThrow(RangeError);
    athens.send('sparta', 1, new Uint8Array());
    await simulation.runFor(10);
    expect(received).toEqual([]);
    expect(network.stats.dropped).toBe(1);
  });
});
