import { describe, expect, it } from 'vitest';
import { HeartbeatSender } from './heartbeat-sender.js';
import type { Logger } from './logger.js';
import { ManualClock } from './testing/manual-clock.js';

function setUp(options: { sendImmediately?: boolean; peers?: string[] } = {}) {
  const clock = new ManualClock();
  const sent: string[] = [];
  const sender = new HeartbeatSender({
    peers: options.peers ?? ['byzantium', 'cyrene'],
    intervalMs: 100,
    timers: clock,
    send: (peer) => sent.push(`${peer}@${clock.now()}`),
    ...(options.sendImmediately === undefined ? {} : { sendImmediately: options.sendImmediately }),
  });
  return { clock, sent, sender };
}

describe('HeartbeatSender', () => {
  it('sends to every peer at start and then once per interval', () => {
    const { clock, sent, sender } = setUp();
    expect(sender.running).toBe(false);
    sender.start();
    expect(sender.running).toBe(true);
    clock.advance(250);
    expect(sent).toEqual([
      'byzantium@0',
      'cyrene@0',
      'byzantium@100',
      'cyrene@100',
      'byzantium@200',
      'cyrene@200',
    ]);
    expect(sender.intervalMs).toBe(100);
    expect(sender.peers()).toEqual(['byzantium', 'cyrene']);
  });

  it('can wait one interval before the first heartbeat', () => {
    const { clock, sent, sender } = setUp({ sendImmediately: false, peers: ['byzantium'] });
    sender.start();
    expect(sent).toEqual([]);
    clock.advance(100);
    expect(sent).toEqual(['byzantium@100']);
  });

  it('sends nothing after stop, and start twice or stop twice changes nothing', () => {
    const { clock, sent, sender } = setUp({ peers: ['byzantium'] });
    sender.stop();
    sender.start();
    sender.start();
    clock.advance(100);
    sender.stop();
    sender.stop();
    clock.advance(1000);
    expect(sent).toEqual(['byzantium@0', 'byzantium@100']);
    expect(clock.pendingTimers).toBe(0);
    sender.start();
    expect(sent).toEqual(['byzantium@0', 'byzantium@100', 'byzantium@1100']);
  });

  it('adds and removes peers while running', () => {
    const { clock, sent, sender } = setUp({ peers: ['byzantium'] });
    sender.start();
    clock.advance(50);
    sender.addPeer('cyrene');
    sender.addPeer('cyrene');
    clock.advance(100);
    sender.removePeer('byzantium');
    sender.removePeer('unknown');
    clock.advance(100);
    expect(sent).toEqual(['byzantium@0', 'cyrene@50', 'byzantium@100', 'cyrene@150', 'cyrene@250']);
    expect(sender.peers()).toEqual(['cyrene']);
  });

  it('begins a peer added by the send callback during start exactly once', () => {
    const clock = new ManualClock();
    const sent: string[] = [];
    const sender: HeartbeatSender = new HeartbeatSender({
      peers: ['byzantium'],
      intervalMs: 100,
      timers: clock,
      send: (peer) => {
        sent.push(`${peer}@${clock.now()}`);
        sender.addPeer('cyrene');
      },
    });
    sender.start();
    clock.advance(100);
    expect(sent).toEqual(['byzantium@0', 'cyrene@0', 'byzantium@100', 'cyrene@100']);
  });

  it('adds peers while stopped without sending', () => {
    const { clock, sent, sender } = setUp({ peers: [] });
    sender.addPeer('athens');
    clock.advance(500);
    expect(sent).toEqual([]);
    sender.start();
    expect(sent).toEqual(['athens@500']);
  });

  it('defers a heartbeat for a peer that just got another message', () => {
    const { clock, sent, sender } = setUp();
    sender.start();
    clock.advance(60);
    sender.deferNextHeartbeat('byzantium');
    sender.deferNextHeartbeat('unknown');
    clock.advance(100);
    expect(sent).toEqual(['byzantium@0', 'cyrene@0', 'cyrene@100', 'byzantium@160']);
    sender.stop();
    sender.deferNextHeartbeat('byzantium');
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps sending when the callback throws, and logs it', () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (fields) => errors.push(fields),
    };
    let calls = 0;
    const sender = new HeartbeatSender({
      peers: ['byzantium'],
      intervalMs: 10,
      timers: clock,
      logger,
      send: () => {
        calls += 1;
        throw new Error('socket closed');
      },
    });
    sender.start();
    clock.advance(20);
    expect(calls).toBe(3);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatchObject({ peer: 'byzantium' });
  });

  it('stops cleanly when the callback stops the sender or removes the peer', () => {
    const clock = new ManualClock();
    let calls = 0;
    const sender: HeartbeatSender = new HeartbeatSender({
      peers: ['byzantium', 'cyrene'],
      intervalMs: 10,
      timers: clock,
      send: (peer) => {
        calls += 1;
        if (peer === 'cyrene') sender.removePeer('cyrene');
        if (calls === 3) sender.stop();
      },
    });
    sender.start();
    clock.advance(100);
    expect(calls).toBe(3);
    expect(clock.pendingTimers).toBe(0);
    // Silent by default even if the callback throws.
    const throwing = new HeartbeatSender({
      peers: ['a'],
      intervalMs: 1,
      timers: clock,
      send: () => {
        throw new Error('x');
      },
    });
    expect(() => throwing.start()).not.toThrow();
    throwing.stop();
  });

  it('rejects a non-positive or non-finite interval', () => {
    const clock = new ManualClock();
    for (const intervalMs of [0, -1, Number.NaN, Infinity]) {
      expect(() => new HeartbeatSender({ intervalMs, timers: clock, send: () => {} })).toThrow(
        RangeError,
      );
    }
  });
});
