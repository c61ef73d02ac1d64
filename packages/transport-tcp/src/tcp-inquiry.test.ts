import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlType, FrameFlags } from './frame.js';
import {
  computeProof,
  decodeChallenge,
  encodeHello,
  encodeProof,
  INCARNATION_BYTES,
  NONCE_BYTES,
  transcriptOf,
} from './handshake.js';
import { inquire, InquiryFailedError } from './tcp-inquiry.js';
import type { TcpTransport, TransportEvent } from './tcp-transport.js';
import {
  closedBy,
  encodeFrame,
  frameReader,
  openRaw,
  startCluster,
  TEST_SECRET,
  waitConnected,
  waitFor,
} from './tcp-test-support.js';

let open: TcpTransport[] = [];

afterEach(async () => {
  await Promise.all(open.map((transport) => transport.close()));
  open = [];
});

const ANSWER = new Uint8Array(Buffer.from('{"clusterId":"42"}'));

describe('inquiries', () => {
  it('answers an inquirer that proves the secret, once, and goes on serving its peers', async () => {
    open = await startCluster(['a', 'b'], {
      answerInquiry: (inquirer) => new Uint8Array(Buffer.from(`asked by ${inquirer}`)),
    });
    const [a, b] = open as [TcpTransport, TcpTransport];
    await waitConnected(open);
    const events: TransportEvent[] = [];
    b.onEvent((event) => events.push(event));
    const answer = await inquire({ address: b.address, secret: TEST_SECRET, inquirerId: 'joiner' });
    expect(Buffer.from(answer).toString()).toBe('asked by joiner');
    expect(events).toContainEqual(
      expect.objectContaining({ kind: 'inquiry-answered', inquirer: 'joiner' }),
    );
    // An inquirer is no peer: nothing of the peer connections changed.
    expect(a.isConnected('b') && b.isConnected('a')).toBe(true);
    expect(b.peerIds).toEqual(['a']);
  });

  it('refuses an inquirer without the secret, and says nothing to it', async () => {
    open = await startCluster(['a'], { answerInquiry: () => ANSWER });
    const rejected: TransportEvent[] = [];
    open[0]!.onEvent((event) => rejected.push(event));
    const failure = await inquire({
      address: open[0]!.address,
      secret: 'another-secret-entirely',
      inquirerId: 'stranger',
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InquiryFailedError);
    expect(rejected).toContainEqual(expect.objectContaining({ reason: 'bad-proof' }));
  });

  it('takes the inquiry secret when one is set, and the peer secret no more', async () => {
    open = await startCluster(['a'], {
      answerInquiry: () => ANSWER,
      inquirySecret: 'inquiry-only',
    });
    const address = open[0]!.address;
    const answer = await inquire({ address, secret: 'inquiry-only', inquirerId: 'joiner' });
    expect(Buffer.from(answer).toString()).toBe('{"clusterId":"42"}');
    await expect(inquire({ address, secret: TEST_SECRET, inquirerId: 'joiner' })).rejects.toThrow(
      InquiryFailedError,
    );
  });

  it('is refused by a transport that answers none', async () => {
    open = await startCluster(['a']);
    const failure = await inquire({
      address: open[0]!.address,
      secret: TEST_SECRET,
      inquirerId: 'joiner',
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InquiryFailedError);
    expect(open[0]!.metrics().handshakesRejected['unknown-node']).toBe(1);
  });

  it('reads no answer larger than its bound', async () => {
    open = await startCluster(['a'], { answerInquiry: () => new Uint8Array(4096) });
    const failure = await inquire({
      address: open[0]!.address,
      secret: TEST_SECRET,
      inquirerId: 'joiner',
      maxAnswerBytes: 1024,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InquiryFailedError);
    expect((failure as Error).message).toMatch(/payload bytes; the maximum is/);
  });

  it('closes on an inquirer that keeps its side open after the answer', async () => {
    open = await startCluster(['a'], { answerInquiry: () => ANSWER, handshakeTimeoutMs: 200 });
    // Half-open allowed: the acceptor's FIN does not close this side.
    const raw = connect({ host: '127.0.0.1', port: open[0]!.address.port, allowHalfOpen: true });
    await new Promise((resolve) => raw.once('connect', resolve));
    const next = frameReader(raw);
    const hello = {
      clusterId: '',
      dialerId: 'lingering',
      acceptorId: '',
      dialerNonce: new Uint8Array(NONCE_BYTES),
      dialerIncarnation: new Uint8Array(INCARNATION_BYTES),
    };
    raw.write(encodeFrame(FrameFlags.control, ControlType.inquiry, 0, encodeHello(hello)));
    const transcript = transcriptOf(hello, decodeChallenge((await next()).payload));
    const progress = { knowsYou: false, lastSequence: 0 };
    const proof = computeProof(Buffer.from(TEST_SECRET), 'inquirer', transcript, progress);
    raw.write(
      encodeFrame(FrameFlags.control, ControlType.proof, 0, encodeProof({ proof, ...progress })),
    );
    expect((await next()).type).toBe(ControlType.answer);
    // This side never closes: the acceptor does, after its handshake timeout.
    await waitFor(() => open[0]!.metrics().openConnections === 0, 2000, 'the connection closed');
    raw.destroy();
  });

  it('answers no inquiry that names a cluster or an acceptor (it could pass for a peer)', async () => {
    open = await startCluster(['a'], { answerInquiry: () => ANSWER });
    const target = open[0]!;
    const raw = await openRaw(target.address.port);
    const frames: number[] = [];
    raw.on('data', (chunk: Buffer) => frames.push(chunk.length));
    raw.write(
      encodeFrame(
        FrameFlags.control,
        ControlType.inquiry,
        0,
        encodeHello({
          clusterId: 'test',
          dialerId: 'joiner',
          acceptorId: '',
          dialerNonce: new Uint8Array(NONCE_BYTES),
          dialerIncarnation: new Uint8Array(INCARNATION_BYTES),
        }),
      ),
    );
    await closedBy(raw);
    // Closed without a challenge.
    expect(frames).toEqual([]);
    expect(target.metrics().handshakesRejected.malformed).toBe(1);
  });
});
