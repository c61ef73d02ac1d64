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
