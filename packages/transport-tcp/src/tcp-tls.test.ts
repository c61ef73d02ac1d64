import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { TcpTransport, TlsOptions } from './tcp-transport.js';
import { startCluster, waitConnected, waitFor } from './tcp-test-support.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../test-fixtures/${name}`, import.meta.url));
const clusterTls: TlsOptions = {
  key: fixture('node-key.pem'),
  cert: fixture('node-cert.pem'),
  ca: fixture('ca-cert.pem'),
};

let open: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.map((transport) => transport.close()));
  open = [];
});

describe('mutual TLS', () => {
  it('carries messages and requests between nodes holding certificates from the cluster CA', async () => {
    open = await startCluster(['a', 'b'], { tls: clusterTls });
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    b.onRequest((_from, type, payload) => ({
      type,
      payload: Buffer.concat([Buffer.from(payload), Buffer.from('!')]),
    }));
    const reply = await a.request('b', 3, Buffer.from('secure'));
    expect(Buffer.from(reply.payload).toString()).toBe('secure!');
  });

  it('refuses a node whose certificate is not from the cluster CA', async () => {
    const [b] = (open = await startCluster(['b'], {
      tls: clusterTls,
      peers: { a: undefined, b: undefined },
    }));
    const [rogue] = await startCluster(['a'], {
      tls: {
        key: fixture('rogue-key.pem'),
        cert: fixture('rogue-cert.pem'),
        ca: fixture('ca-cert.pem'),
      },
      peers: { a: undefined, b: { host: '127.0.0.1', port: b!.address.port } },
    });
    open.push(rogue!);
    await waitFor(() => b!.metrics().handshakesRejected.tls >= 1, 5000, 'TLS rejection');
    expect(b!.isConnected('a')).toBe(false);
    expect(b!.metrics().handshakesCompleted).toBe(0);
  });
});
