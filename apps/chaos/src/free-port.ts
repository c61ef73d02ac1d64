import { createServer } from 'node:net';

/**
 * A TCP port on `host` that was free a moment ago (the OS picks it). Another process may take it
 * before it is used; callers bind soon after.
 * @throws Error if no port can be bound.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port === 0 ? reject(new Error('no free port')) : resolve(port)));
    });
  });
}

/** Linux's default ephemeral range starts here (`net.ipv4.ip_local_port_range`). */
const EPHEMERAL_PORTS_START = 32_768;

/**
 * A TCP port on `host` below the ephemeral range that was free a moment ago, for a listener that
 * starts long after it is chosen (a spare node a fault adds later): outgoing connections never
 * take such a port meanwhile, as they can a port {@link freePort} returned. Tries ports from a
 * random start in [20000, 32768).
 * @throws Error if none of the ports tried can be bound.
 */
export async function freeReservedRangePort(host = '127.0.0.1'): Promise<number> {
  const first = 20_000;
  const span = EPHEMERAL_PORTS_START - first;
  const start = Math.floor(Math.random() * span);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = first + ((start + attempt * 7919) % span);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, host, () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below the ephemeral range');
}
