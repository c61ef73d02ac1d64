import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestMemoryCap } from './request-memory-cap.js';
import { http2Frame } from '../../test/support/grpc-wire.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const END_STREAM = 0x1;
const PADDED = 0x8;

function message(length: number, bodyBytes = length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(length, 1);
  return Buffer.concat([prefix, Buffer.alloc(bodyBytes, 7)]);
}

/** A cap over a fake client connection: what the client sends, what the server reads. */
function capped(maxHeld: number, maxMessage: number) {
  const toServer: Buffer[] = [];
  const toClient: Buffer[] = [];
  const connection = new Duplex({
    read: () => undefined,
    write: (chunk: Buffer, _encoding, callback) => {
      toClient.push(chunk);
      callback();
    },
  });
  const cap = new RequestMemoryCap(connection, maxHeld, maxMessage);
  cap.on('data', (chunk: Buffer) => toServer.push(Buffer.from(chunk)));
  cap.on('error', () => undefined);
  return {
    cap,
    /** Sends `bytes` from the client; resolves once the cap has read them. */
    send: async (bytes: Buffer): Promise<void> => {
      connection.push(bytes);
      await new Promise((resolve) => setImmediate(resolve));
    },
    serverSends: (bytes: Buffer) =>
      new Promise<void>((resolve) => cap.write(bytes, () => resolve())),
    received: () => Buffer.concat(toServer),
  };
}

describe('RequestMemoryCap', () => {
  it('counts announced lengths until a message is whole, the first until the stream ends', async () => {
    const { cap, send, received } = capped(1000, 500);
    const sent = Buffer.concat([
      PREFACE,
      http2Frame(DATA, 0, 1, message(300, 100)),
      http2Frame(DATA, 0, 3, message(200, 200)),
    ]);
    await send(sent);
    // Stream 1: 300 announced (100 sent); stream 3: its first message, whole, until it ends.
    expect(cap.heldBytes).toBe(500);
    await send(http2Frame(DATA, 0, 3, message(50, 50)));
    // A later message on a stream is handed on once whole.
    expect(cap.heldBytes).toBe(500);
    await send(http2Frame(DATA, END_STREAM, 1, Buffer.alloc(200)));
    expect(cap.heldBytes).toBe(200);
    await send(http2Frame(RST_STREAM, 0, 3, Buffer.alloc(4)));
    expect(cap.heldBytes).toBe(0);
    expect(received().subarray(0, sent.length)).toEqual(sent);
  });

  it('refuses a message past the bound by its length prefix, and passes the rest as sent', async () => {
    const { cap, send, received } = capped(1000, 800);
    await send(Buffer.concat([PREFACE, http2Frame(DATA, 0, 1, message(700, 10))]));
    const over = http2Frame(DATA, 0, 3, message(400, 10));
    await send(over);
    expect(cap.heldBytes).toBe(700);
    const forwarded = received().subarray(PREFACE.length + 9 + 15);
    // The announced length now exceeds any limit; every other byte is unchanged.
    expect(forwarded.readUInt32BE(9 + 1)).toBeGreaterThan(0xff000000);
    expect(Buffer.concat([forwarded.subarray(0, 10), forwarded.subarray(11)])).toEqual(
      Buffer.concat([over.subarray(0, 10), over.subarray(11)]),
    );
    // Longer than the server's own limit: it refuses it itself, so it is not counted.
    await send(http2Frame(DATA, 0, 5, message(900, 10)));
    expect(cap.heldBytes).toBe(700);
  });

  it('lets go of what the server ended, and reads no more messages on that stream', async () => {
    const { cap, send, serverSends } = capped(1000, 800);
    await send(Buffer.concat([PREFACE, http2Frame(DATA, 0, 1, message(700, 10))]));
    expect(cap.heldBytes).toBe(700);
    await serverSends(http2Frame(0x4, 0, 0, Buffer.alloc(0)));
    await serverSends(http2Frame(HEADERS, END_STREAM | 0x4, 1, Buffer.from([0x88])));
    expect(cap.heldBytes).toBe(0);
    // The rest of the message, discarded by the server, is not read as a new prefix.
    await send(http2Frame(DATA, 0, 1, Buffer.alloc(700, 0xff)));
    expect(cap.heldBytes).toBe(0);
  });

  it('skips the padding of padded DATA frames', async () => {
    const { cap, send } = capped(1000, 800);
    const payload = Buffer.concat([Buffer.from([20]), message(100, 10), Buffer.alloc(20, 0xff)]);
    await send(Buffer.concat([PREFACE, http2Frame(DATA, PADDED, 1, payload)]));
    expect(cap.heldBytes).toBe(100);
  });

  it('ends the connection when a prefix past the bound was cut across frames already sent', async () => {
    const { cap, send } = capped(1000, 800);
    await send(Buffer.concat([PREFACE, http2Frame(DATA, 0, 1, message(700, 10))]));
    const over = message(400, 0);
    await send(http2Frame(DATA, 0, 3, over.subarray(0, 3)));
    await send(http2Frame(DATA, 0, 3, over.subarray(3)));
    expect(cap.destroyed).toBe(true);
  });

  it('counts the same whatever the cut of the bytes into chunks', async () => {
    const stream = Buffer.concat([
      PREFACE,
      http2Frame(DATA, 0, 1, message(300, 50)),
      http2Frame(DATA, 0, 3, message(200, 200)),
      http2Frame(DATA, 0, 1, Buffer.alloc(100)),
      http2Frame(DATA, 0, 5, message(600, 20)),
      http2Frame(DATA, 0, 7, message(100, 5)),
    ]);
    const whole = capped(1000, 800);
    await whole.send(stream);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 })),
        async (cuts) => {
          const pieces = capped(1000, 800);
          let from = 0;
          for (const cut of [...cuts].sort((a, b) => a - b)) {
            await pieces.send(stream.subarray(from, cut));
            from = cut;
          }
          await pieces.send(stream.subarray(from));
          expect(pieces.cap.heldBytes).toBe(whole.cap.heldBytes);
          expect(pieces.received()).toEqual(whole.received());
        },
      ),
      { numRuns: 100 },
    );
    // 300 + 200 held, 600 refused (past the bound), 100 held.
    expect(whole.cap.heldBytes).toBe(600);
  });
});
