import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freeBasePort, freePort, freePorts, portIsFree } from './free-port.js';

const listening: Server[] = [];

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      listening.push(server);
      resolve(server);
    });
  });
}

afterEach(async () => {
  await Promise.all(
    listening.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
});

describe('free ports', () => {
  it('freePort gives a port below the ephemeral range that can then be bound', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThanOrEqual(20_000);
    expect(port).toBeLessThan(32_768);
    await listenOn(port);
  });

  it('portIsFree tells a port something listens on from a released one', async () => {
    const port = await freePort();
    await listenOn(port);
    expect(await portIsFree(port)).toBe(false);
    await new Promise((resolve) => listening.pop()?.close(resolve));
    expect(await portIsFree(port)).toBe(true);
  });

  it('freePorts gives as many distinct ports as asked, each of which can then be bound', async () => {
    const ports = await freePorts(12);
    expect(new Set(ports).size).toBe(12);
    for (const port of ports) await listenOn(port);
  });

  it('freeBasePort gives a base whose dashboard and member ports are all free', async () => {
    const nodes = 3;
    const base = await freeBasePort(nodes);
    const ports = [base - 1];
    for (let index = 0; index < nodes; index++) {
      ports.push(base + 10 * index, base + 10 * index + 1, base + 10 * index + 2);
    }
    expect(Math.max(...ports)).toBeLessThan(32_768);
    for (const port of ports) await listenOn(port);
  });
});
