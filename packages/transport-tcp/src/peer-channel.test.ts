import { describe, expect, it } from 'vitest';
import { ConnectionLostError, TransportTimeoutError } from './errors.js';
import { FrameBatch } from './frame-batch.js';
import { FrameDecoder } from './frame-decoder.js';
import { PeerChannel, type ChannelContext } from './peer-channel.js';
import type { Reply, UndeliveredMessage } from './types.js';

/** Manual virtual timers: `advance` fires what is due. */
function virtualTimers() {
  let now = 0;
  const due = new Map<number, { at: number; callback: () => void }>();
  let nextHandle = 0;
  return {
    setTimeout(callback: () => void, delayMs: number) {
      nextHandle += 1;
      due.set(nextHandle, { at: now + delayMs, callback });
      return nextHandle;
    },
    clearTimeout(handle: unknown) {
      due.delete(handle as number);
    },
    advance(ms: number) {
      now += ms;
      for (const [handle, timer] of [...due]) {
        if (timer.at <= now) {
          due.delete(handle);
          timer.callback();
        }
      }
    },
    get pending() {
      return due.size;
    },
  };
}

function setup(overrides: Partial<ChannelContext> = {}) {
  const timers = virtualTimers();
  const undelivered: UndeliveredMessage[] = [];
  const context: ChannelContext = {
    timers,
    maxQueuedMessages: 100,
    maxQueuedBytes: 1 << 20,
    maxInFlightRequests: 2,
    acknowledgementDelayMs: 0,
    deliverMessage: () => {},
    handleRequest: (): Reply => ({ type: 0, payload: new Uint8Array(0) }),
    reportUndelivered: (_peer, messages) => undelivered.push(...messages),
    countTimeout: () => {},
    countLateResponse: () => {},
    ...overrides,
  };
  const channel = new PeerChannel('peer', context);
  let flushes = 0;
  const link = { requestFlush: () => (flushes += 1) };
  /** Writes everything the channel lets through and returns the frames as [flags, type, correlation]. */
  const write = (): number[][] => {
    const batch = new FrameBatch();
    channel.drainInto(batch, Number.MAX_SAFE_INTEGER);
    const frames: number[][] = [];
    new FrameDecoder(1 << 20, (flags, type, correlation) =>
      frames.push([flags, type, correlation]),
    ).push(Buffer.concat(batch.take()));
    return frames;
  };
  return { channel, timers, undelivered, link, write, flushes: () => flushes };
}

const one = new Uint8Array(1);

describe('PeerChannel', () => {
  it('after a reconnect reports exactly the one-way messages the peer says it did not receive', () => {
    const { channel, undelivered, link, write } = setup();
    channel.attach(link, 'peer-1', { knowsYou: false, lastSequence: 0 });
    for (let type = 0; type < 5; type += 1) channel.send(type, one);
    expect(write().map((frame) => frame[2])).toEqual([0, 1, 2, 3, 4]);
    channel.acknowledge(1);
    expect(channel.stats().unacknowledged).toBe(3);
    channel.detach('cut');
    channel.send(5, one); // queued while down, sent after the reconnect
    channel.attach(link, 'peer-1', { knowsYou: true, lastSequence: 3 });
    expect(undelivered).toEqual([
      { type: 4, payload: one, reason: 'connection-lost', maybeDelivered: false },
    ]);
    expect(write().map((frame) => frame[2])).toEqual([5]);
  });

  it('reports every unacknowledged message as maybe delivered when the peer restarted', () => {
    const { channel, undelivered, link, write } = setup();
    channel.attach(link, 'peer-1', { knowsYou: false, lastSequence: 0 });
    channel.send(1, one);
    channel.send(2, one);
    write();
    channel.detach('cut');
    channel.attach(link, 'peer-2', { knowsYou: false, lastSequence: 0 });
    expect(
      undelivered.map((message) => [message.type, message.reason, message.maybeDelivered]),
    ).toEqual([
      [1, 'peer-restarted', true],
      [2, 'peer-restarted', true],
    ]);
  });

  it('keeps the in-flight window and the order behind a blocked request', async () => {
    const { channel, link, write } = setup();
    channel.attach(link, 'peer-1', { knowsYou: false, lastSequence: 0 });
    const replies = [
      channel.request(10, one, 1000),
      channel.request(11, one, 1000),
      channel.request(12, one, 1000),
    ];
    channel.send(13, one);
    expect(write().map((frame) => frame[1])).toEqual([10, 11]);
    expect(channel.hasWritableFrames).toBe(false);
    channel.receive(2, 99, 1, new Uint8Array(0)); // response to the first request
    expect(write().map((frame) => frame[1])).toEqual([12, 13]);
    await expect(replies[0]).resolves.toEqual({ type: 99, payload: new Uint8Array(0) });
  });

  it('times requests out through the Timers port, written or still queued, and frees their accounting', async () => {
    const { channel, timers, link, write } = setup();
    channel.attach(link, 'peer-1', { knowsYou: false, lastSequence: 0 });
    const written = channel.request(1, one, 100);
    write();
    channel.detach('cut');
    const queued = channel.request(2, one, 100);
    await expect(written).rejects.toBeInstanceOf(ConnectionLostError);
    timers.advance(100);
    await expect(queued).rejects.toBeInstanceOf(TransportTimeoutError);
    expect(channel.stats()).toMatchObject({
      queuedMessages: 0,
      queuedBytes: 0,
      inFlightRequests: 0,
    });
    expect(timers.pending).toBe(0);
    channel.attach(link, 'peer-1', { knowsYou: false, lastSequence: 0 });
    expect(write()).toEqual([]); // the timed-out request is skipped, never sent
  });

  it('acknowledges received one-way messages with one control frame', () => {
    const { channel, link, write } = setup();
    channel.attach(link, 'peer-1', { knowsYou: false, lastSequence: 0 });
    channel.receive(0, 1, 41, one);
    channel.receive(0, 1, 42, one);
    expect(write()).toEqual([[8, 5, 42]]);
    expect(channel.receiveProgress('peer-1')).toEqual({ knowsYou: true, lastSequence: 42 });
    expect(channel.receiveProgress('peer-2')).toEqual({ knowsYou: false, lastSequence: 0 });
  });

  it('lets a delayed acknowledgement ride on the next outbound data instead of its own write', () => {
    const { channel, link, write, flushes, timers } = setup({ acknowledgementDelayMs: 10 });
    channel.attach(link, 'peer-1', { knowsYou: false, lastSequence: 0 });
    channel.receive(0, 1, 41, one);
    channel.receive(0, 1, 42, one);
    expect(flushes()).toBe(0); // no write of its own yet
    expect(timers.pending).toBe(1);
    channel.send(7, one); // a reply: the acknowledgement goes with it, ahead of it
    expect(flushes()).toBe(1);
    expect(write()).toEqual([
      [8, 5, 42],
      [0, 7, 0],
    ]);
    timers.advance(10); // nothing is due any more: the timer asks for no flush
    expect(flushes()).toBe(1);
    expect(write()).toEqual([]);
  });

  it('writes a delayed acknowledgement on its own once the delay passes without data', () => {
    const { channel, link, write, flushes, timers } = setup({ acknowledgementDelayMs: 10 });
    channel.attach(link, 'peer-1', { knowsYou: false, lastSequence: 0 });
    channel.receive(0, 1, 41, one);
    timers.advance(9);
    expect(flushes()).toBe(0);
    channel.receive(0, 1, 42, one); // the first message's timer covers this one too
    expect(timers.pending).toBe(1);
    timers.advance(1);
    expect(flushes()).toBe(1);
    expect(write()).toEqual([[8, 5, 42]]);
  });

  it('writes no acknowledgement of its own while acknowledgements ride on data; at most twice the delay', () => {
    const { channel, link, write, flushes, timers } = setup({ acknowledgementDelayMs: 10 });
    channel.attach(link, 'peer-1', { knowsYou: false, lastSequence: 0 });
    channel.receive(0, 1, 41, one); // arms the timer, due at 10
    timers.advance(5);
    channel.send(7, one);
    expect(write()).toEqual([
      [8, 5, 41],
      [0, 7, 0],
    ]);
    channel.receive(0, 1, 42, one); // at 5: due, and the timer is still pending
    timers.advance(5); // at 10: an acknowledgement rode meanwhile, so the link is busy
    expect(flushes()).toBe(1);
    expect(timers.pending).toBe(1);
    timers.advance(9);
    expect(flushes()).toBe(1);
    timers.advance(1); // at 20: no data since; 42 waited 15 ms, under twice the delay
    expect(flushes()).toBe(2);
    expect(write()).toEqual([[8, 5, 42]]);
    expect(timers.pending).toBe(0);
  });

  it('acknowledges at once after a burst of 256 messages or 256 KiB, without waiting', () => {
    const { channel, link, write, flushes } = setup({
      acknowledgementDelayMs: 10,
      maxQueuedBytes: 1 << 30,
    });
    channel.attach(link, 'peer-1', { knowsYou: false, lastSequence: 0 });
    for (let sequence = 0; sequence < 255; sequence += 1) channel.receive(0, 1, sequence, one);
    expect(flushes()).toBe(0);
    channel.receive(0, 1, 255, one);
    expect(flushes()).toBe(1);
    expect(write()).toEqual([[8, 5, 255]]);
    channel.receive(0, 1, 256, new Uint8Array(256 * 1024));
    expect(flushes()).toBe(2);
    expect(write()).toEqual([[8, 5, 256]]);
  });

  it('cancels a pending acknowledgement and its timer when the connection goes', () => {
    const { channel, link, write, flushes, timers } = setup({ acknowledgementDelayMs: 10 });
    channel.attach(link, 'peer-1', { knowsYou: false, lastSequence: 0 });
    channel.receive(0, 1, 41, one);
    channel.detach('cut');
    expect(timers.pending).toBe(0);
    channel.attach(link, 'peer-1', { knowsYou: true, lastSequence: 0 });
    expect(write()).toEqual([]); // the handshake carried the receive progress instead
    expect(flushes()).toBe(0);
    expect(channel.receiveProgress('peer-1')).toEqual({ knowsYou: true, lastSequence: 41 });
  });

  it('drops a response computed for a connection that has since been replaced', async () => {
    let answer: (reply: Reply) => void = () => {};
    const { channel, link, write } = setup({
      handleRequest: () => new Promise<Reply>((resolve) => (answer = resolve)),
    });
    channel.attach(link, 'peer-1', { knowsYou: false, lastSequence: 0 });
    channel.receive(1, 5, 7, one);
    channel.detach('cut');
    channel.attach(link, 'peer-1', { knowsYou: false, lastSequence: 0 });
    answer({ type: 5, payload: one });
    await Promise.resolve();
    expect(write()).toEqual([]);
  });
});
