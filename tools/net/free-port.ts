/**
 * Free loopback ports for tests, benchmarks and the chaos harness: the one copy every package and
 * app of this repository imports (by relative path, like `tools/fuzz`), so no published package
 * depends on test code for it.
 *
 * Ports are drawn below Linux's default ephemeral range (32768-60999). A port the kernel picked
 * for `listen(0)` comes from that range and, once released, may be handed out again as the source
 * port of any outgoing connection before the process meant to listen on it binds it (seen as
 * "already in use" when many test files connect at once). Below the range only another test's own
 * choice can collide.
 */

import { createServer } from 'node:net';

const PORT_RANGE = { first: 20_000, last: 32_000 };
const PORT_ATTEMPTS = 64;

/** Binds `port` of `host` (0: one the kernel picks) and releases it; the bound port, if any. */
function bindsOn(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** Whether nothing listens on `port` of `host` now. */
export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return (await bindsOn(port, host)) !== undefined;
}

/**
 * A TCP port on `host` that was free when checked: a random one below the ephemeral range, else
 * one the kernel picks. Another process may still take it before it is bound; callers bind soon.
 *
 * @throws Error if no port at all can be bound on `host`.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const candidate =
      PORT_RANGE.first + Math.floor(Math.random() * (PORT_RANGE.last - PORT_RANGE.first));
    const port = await bindsOn(candidate, host);
    if (port !== undefined) return port;
  }
  const port = await bindsOn(0, host);
  if (port === undefined) throw new Error(`no free TCP port on ${host}`);
  return port;
}

/**
 * `count` distinct TCP ports on `host`, each free when checked (see {@link freePort}). Each is
 * released before the next is drawn, so one call after another may return the same port; this
 * one never does.
 *
 * @throws Error if no port at all can be bound on `host`.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(host));
  return [...ports];
}

/**
 * A `--base-port` for `kv-node cluster --nodes <nodes>` whose every port on 127.0.0.1 is free:
 * the dashboard's (base - 1) and, per member `i` (from 0), the client port (base + 10i), the
 * peer port its launcher proxies (base + 10i + 1) and the port the member listens on behind the
 * proxy (base + 10i + 2). Searched below the ephemeral range, from a random start.
 *
 * @param nodes how many member slots must be free (the members started and any added later).
 * @throws Error if no such range is found in 100 tries.
 */
export async function freeBasePort(nodes: number): Promise<number> {
  const slots = Math.floor((PORT_RANGE.last - PORT_RANGE.first - 10 * nodes) / 10);
  const start = Math.floor(Math.random() * slots);
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = PORT_RANGE.first + 1 + 10 * ((start + 37 * attempt) % slots);
    const ports = [base - 1];
    for (let index = 0; index < nodes; index++) {
      ports.push(base + 10 * index, base + 10 * index + 1, base + 10 * index + 2);
    }
    if ((await Promise.all(ports.map((port) => portIsFree(port)))).every(Boolean)) return base;
  }
  throw new Error('no free range of ports for the local cluster');
}
