import { afterEach, describe, expect, it } from 'vitest';
import { TransportClosedError } from './errors.js';
import { TcpTransport, type TransportEvent } from './tcp-transport.js';
import { startCluster, TEST_SECRET, waitConnected, waitFor } from './tcp-test-support.js';
import type { UndeliveredMessage } from './types.js';

let open: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.map((transport) => transport.close()));
  open = [];
});

/** Starts one more transport, `id`, that knows `peers` (and their addresses when it dials them). */
async function startNewcomer(id: string, peers: TcpTransport[]): Promise<TcpTransport> {
  const newcomer = await TcpTransport.start({
    nodeId: id,
    clusterId: 'test',
    secret: TEST_SECRET,
    peers: Object.fromEntries(
      peers.map((peer) => [peer.nodeId, peer.nodeId > id ? peer.address : undefined]),
    ),
    reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
  });
  open.push(newcomer);
  return newcomer;
}

function rejectionsOf(transport: TcpTransport): TransportEvent[] {
  const seen: TransportEvent[] = [];
  transport.onEvent((event) => {
    if (event.kind === 'handshake-rejected') seen.push(event);
  });
  return seen;
}

describe('peers that change at run time', () => {
  it('admits an added peer in both directions and carries messages to it', async () => {
    const cluster = await startCluster(['b', 'd']);
    open.push(...cluster);
    const [b, d] = cluster as [TcpTransport, TcpTransport];
    await waitConnected(cluster);
    // 'a' dials b and d (lower id); 'c' dials d and is dialed by b.
    const a = await startNewcomer('a', cluster);
    const c = await startNewcomer('c', cluster);
    for (const member of [b, d]) member.addPeer('a', undefined);
    b.addPeer('c', c.address);
    d.addPeer('c', undefined);
    a.addPeer('c', c.address);
    c.addPeer('a', undefined);
    await waitConnected([a, b, c, d]);
    const received: string[] = [];
    c.onMessage((from, _type, payload) =>
      received.push(`${from}:${Buffer.from(payload).toString()}`),
    );
    a.send('c', 1, Buffer.from('hello'));
    b.send('c', 1, Buffer.from('hi'));
    await waitFor(() => received.length === 2);
    expect(received.sort()).toEqual(['a:hello', 'b:hi']);
    expect(b.peerIds.sort()).toEqual(['a', 'c', 'd']);
  });

  it('closes a removed peer’s connection, refuses its handshakes and stops dialing it', async () => {
    const cluster = await startCluster(['a', 'b', 'c']);
    open.push(...cluster);
    const [a, b, c] = cluster as [TcpTransport, TcpTransport, TcpTransport];
    await waitConnected(cluster);
    const rejectedByB = rejectionsOf(b);
    const rejectedByC = rejectionsOf(c);
    c.onRequest(() => new Promise(() => {}));
    const undelivered: UndeliveredMessage[] = [];
    a.onUndelivered((_peer, messages) => undelivered.push(...messages));
    const pending = a.request('c', 1, Buffer.from('never answered'));
    // b forgets a (a dials b) and a forgets c (a dials c): both directions of refusal.
    b.removePeer('a');
    a.removePeer('c');
    await expect(pending).rejects.toBeInstanceOf(TransportClosedError);
    expect(a.isConnected('c')).toBe(false);
    expect(() => a.send('c', 1, Buffer.from('x'))).toThrow(/c/);
    // a still believes in b and keeps dialing it; b refuses every attempt.
    await waitFor(() => rejectedByB.length >= 2, 5000, 'refused handshakes');
    expect(
      rejectedByB.every(
        (event) => event.kind === 'handshake-rejected' && event.reason === 'unknown-node',
      ),
    ).toBe(true);
    expect(b.isConnected('a')).toBe(false);
    expect(a.isConnected('b')).toBe(false);
    // c never hears from a again: a no longer dials it.
    expect(rejectedByC).toEqual([]);
    expect(c.isConnected('a')).toBe(false);
    expect(a.peerIds).toEqual(['b']);
    // The rest of the cluster is untouched.
    expect(b.isConnected('c')).toBe(true);
    expect(undelivered).toEqual([]);
  });

  it('reports queued one-way messages to a removed peer as undelivered', async () => {
    const [a] = await startCluster(['a']);
    open.push(a!);
    // z's address is not known yet, so the message waits in z's queue.
    a!.addPeer('z', undefined);
    const undelivered: UndeliveredMessage[] = [];
    a!.onUndelivered((_peer, messages) => undelivered.push(...messages));
    a!.send('z', 7, Buffer.from('queued'));
    a!.removePeer('z');
    expect(undelivered.map((message) => [message.type, message.reason])).toEqual([[7, 'closed']]);
  });

  it('refuses its own id and leaves an unknown removal alone', async () => {
    const [a] = await startCluster(['a']);
    open.push(a!);
    expect(() => a!.addPeer('a', undefined)).toThrow(RangeError);
    expect(() => a!.addPeer('', undefined)).toThrow(RangeError);
    a!.removePeer('nobody');
    expect(a!.peerIds).toEqual([]);
    await a!.close();
    expect(() => a!.addPeer('b', undefined)).toThrow(TransportClosedError);
  });
});
