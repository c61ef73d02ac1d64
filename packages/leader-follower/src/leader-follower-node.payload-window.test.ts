import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import { NodeStoppedError } from './errors.js';
import { LeaderFollowerNode, type LeaderFollowerNodeOptions } from './leader-follower-node.js';
import { decodeMessage, encodeMessage } from './message-codec.js';
import type { AppendRequest, Message } from './messages.js';
import { CountingFileSystem } from './test-support/counting-file-system.js';
import { ManualTime } from './test-support/manual-time.js';
import { settle } from './test-support/node-event-loop.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Node `a` (real, leader) with two followers played by the test: `b` answers everything at once,
 * `c` stays silent until the test speaks for it. Payloads are dropped as soon as applied.
 */
async function leaderWithPlayedFollowers(tuning: Partial<LeaderFollowerNodeOptions> = {}) {
  const time = new ManualTime();
  const sent: { to: string; message: Message }[] = [];
  const logs: string[] = [];
  const fatal: unknown[] = [];
  let readGate: Promise<void> | undefined;
  const disk = new FaultFileSystem({
    random: seededRandom(1),
    delay: (operation, path) =>
      operation === 'read' && path.includes('/log-') ? readGate : undefined,
  });
  let deliverToA: ((from: string, type: number, payload: Uint8Array) => void) | undefined;
  const node = await LeaderFollowerNode.open({
    id: 'a',
    members: ['a', 'b', 'c'],
    transport: {
      send: (to, type, payload) => {
        const message = decodeMessage(type, payload);
        if (message !== undefined) sent.push({ to, message });
      },
      onMessage: (handler) => (deliverToA = handler),
    },
    stateMachine: {
      apply: (_index, command) => decoder.decode(command),
      snapshot: () => encoder.encode('state'),
      restore: () => undefined,
    },
    fileSystem: disk,
    dataDirectory: '/data',
    clock: time,
    timers: time,
    random: { next: () => 0 },
    logger: {
      debug: (_fields, message) => logs.push(message),
      info: (_fields, message) => logs.push(message),
      warn: (_fields, message) => logs.push(message),
      error: (_fields, message) => logs.push(message),
    },
    onFatalError: (error) => fatal.push(error),
    payloadCacheBytes: 0,
    maxAppendBytes: 64,
    ...tuning,
  });
  node.start();
  const deliver = (from: string, message: Message): void => {
    const { type, payload } = encodeMessage(message);
    deliverToA?.(from, type, payload);
  };
  let answered = 0;
  /** Lets disk work finish and `b` answer, until nothing more happens. */
  const pump = async (): Promise<void> => {
    for (let round = 0; round < 50; round++) {
      await settle();
      const fresh = sent.slice(answered);
      answered = sent.length;
      if (fresh.length === 0) return;
      for (const { to, message } of fresh) {
        if (to !== 'b') continue;
        if (message.kind === 'append') {
          deliver('b', {
            kind: 'append-response',
            generation: message.generation,
            rejected: false,
            index: message.prevIndex + message.entries.length,
            hintIndex: 0,
            hintGeneration: 0,
          });
        } else if (message.kind === 'heartbeat') {
          deliver('b', {
            kind: 'heartbeat-response',
            generation: message.generation,
            readRound: message.readRound,
          });
        } else if (message.kind === 'vote-request') {
          deliver('b', {
            kind: 'vote-response',
            generation: message.generation,
            preVote: message.preVote,
            granted: true,
          });
        }
      }
    }
  };
  // Election: `a` times out, wins b's pre-vote and vote, and commits its empty entry.
  for (let tick = 0; tick < 30 && node.role !== 'leader'; tick++) {
    time.advance(100);
    await pump();
  }
  expect(node.role).toBe('leader');
  await pump();
  const toC = (): Message[] => sent.filter((m) => m.to === 'c').map((m) => m.message);
  return {
    node,
    time,
    disk,
    logs,
    fatal,
    deliver,
    pump,
    toC,
    closeReads: () => {
      let open = (): void => undefined;
      readGate = new Promise<void>((resolve) => (open = resolve));
      return () => {
        readGate = undefined;
        open();
      };
    },
  };
}

type Harness = Awaited<ReturnType<typeof leaderWithPlayedFollowers>>;

/** Proposes `count` commands and waits until all are applied (b makes the majority). */
async function proposeAll(harness: Harness, prefix: string, count: number): Promise<string[]> {
  const commands = Array.from({ length: count }, (_, i) => `${prefix} ${i}`.padEnd(24, '.'));
  const results = Promise.all(
    commands.map((command) => harness.node.propose(encoder.encode(command))),
  );
  await harness.pump();
  expect(await results).toEqual(commands);
  return commands;
}

/** `c` says it holds the leader's empty entry (index 1): the leader streams it the rest. */
function followerCAcknowledgesFirstEntry(harness: Harness): void {
  harness.deliver('c', {
    kind: 'append-response',
    generation: harness.node.generation,
    rejected: false,
    index: 1,
    hintIndex: 0,
    hintGeneration: 0,
  });
}

const appendsOf = (messages: Message[]): AppendRequest[] =>
  messages.filter((message): message is AppendRequest => message.kind === 'append');

describe('LeaderFollowerNode payload window', () => {
  it('keeps no payload once applied and durable, and catches a lagging follower up from the log, in order', async () => {
    const harness = await leaderWithPlayedFollowers();
    const commands = await proposeAll(harness, 'lagging', 20);
    expect(harness.node.logPayloadBytes).toBe(0);
    expect(harness.node.logEntryCount).toBe(21);
    const before = harness.toC().length;

    followerCAcknowledgesFirstEntry(harness);
    // In the same turn a tick sends c a heartbeat: it must not overtake the refilled appends.
    harness.time.advance(100);
    await harness.pump();

    const received = harness.toC().slice(before);
    const appends = appendsOf(received);
    expect(appends.length).toBeGreaterThan(1);
    expect(appends[0]?.prevIndex).toBe(1);
    for (let i = 1; i < appends.length; i++) {
      const previous = appends[i - 1];
      expect(appends[i]?.prevIndex).toBe(
        (previous?.prevIndex ?? 0) + (previous?.entries.length ?? 0),
      );
    }
    const texts = appends.flatMap((append) => append.entries.map((e) => decoder.decode(e.command)));
    expect(texts).toEqual(commands);
    const lastAppend = received.lastIndexOf(appends.at(-1) as Message);
    const firstHeartbeat = received.findIndex((message) => message.kind === 'heartbeat');
    expect(firstHeartbeat).toBeGreaterThan(lastAppend);
    expect(harness.logs.filter((log) => log === 'append refilled from the log').length).toBe(
      appends.length,
    );
    expect(harness.fatal).toEqual([]);
    await harness.node.close();
  });

  it('drops an append whose entries the log released meanwhile instead of sending it empty', async () => {
    const harness = await leaderWithPlayedFollowers({
      snapshotEveryEntries: 30,
      retainEntriesAfterSnapshot: 0,
      wal: { maxSegmentBytes: 256 },
    });
    const commands = await proposeAll(harness, 'early', 20);
    const before = harness.toC().length;
    const openReads = harness.closeReads();
    followerCAcknowledgesFirstEntry(harness);
    await settle();
    // While the first refill waits on the disk, a snapshot releases the log below it.
    await proposeAll(harness, 'later', 15);
    expect(harness.logs).toContain('snapshot taken');
    expect(harness.node.lowWaterMark).toBe(36);
    openReads();
    await harness.pump();

    const appends = appendsOf(harness.toC().slice(before));
    // The read already under way completes; the appends queued behind it are dropped.
    expect(appends[0]?.prevIndex).toBe(1);
    expect(harness.logs).toContain('append dropped: not in the log');
    for (const append of appends) {
      for (const entry of append.entries) {
        const text = decoder.decode(entry.command);
        expect(entry.index <= 21 ? commands[entry.index - 2] : text).toBe(text);
        expect(text.length).toBeGreaterThan(0);
      }
    }
    expect(harness.fatal).toEqual([]);
    await proposeAll(harness, 'still serving', 1);
    await harness.node.close();
  });

  it('fails stop when reading the log back for a lagging follower fails', async () => {
    const harness = await leaderWithPlayedFollowers();
    await proposeAll(harness, 'write', 5);
    const before = harness.toC().length;
    harness.disk.injectFault({ operation: 'read', path: '/log-', times: 1 });
    followerCAcknowledgesFirstEntry(harness);
    await harness.pump();

    expect(harness.fatal).toHaveLength(1);
    expect(harness.fatal[0]).toMatchObject({ code: 'EIO' });
    expect(harness.logs).toContain('storage failed; stopping');
    expect(appendsOf(harness.toC().slice(before))).toEqual([]);
    await expect(harness.node.propose(encoder.encode('after'))).rejects.toBeInstanceOf(
      NodeStoppedError,
    );
    await harness.node.close();
  });

  it('restarts after the durable applied index: holds no command at or below it, applies nothing twice, and catches a follower up from the log', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(2) });
    const applied: number[] = [];
    let durableThrough = 0;
    const stateMachine: LeaderFollowerNodeOptions['stateMachine'] = {
      apply: (index, command) => {
        applied.push(index);
        return decoder.decode(command);
      },
      snapshot: () => encoder.encode('state'),
      restore: () => undefined,
      durableAppliedIndex: () => durableThrough,
    };
    const first = await leaderWithPlayedFollowers({ fileSystem: disk, stateMachine });
    const commands = await proposeAll(first, 'before', 30);
    await first.node.close();
    // The state machine kept entries 1..25 durably (the empty entry and 24 commands).
    durableThrough = 25;
    const commandBytes = encoder.encode(commands[0]).length;

    const counting = new CountingFileSystem(disk);
    const reopened = await LeaderFollowerNode.open({
      id: 'a',
      members: ['a', 'b', 'c'],
      transport: { send: () => undefined, onMessage: () => undefined },
      stateMachine,
      fileSystem: counting,
      dataDirectory: '/data',
      clock: new ManualTime(),
      timers: new ManualTime(),
      random: { next: () => 0 },
      payloadCacheBytes: 2 * commandBytes,
    });
    // Recovered: the six entries after 25 whole, and of those through 25 only the window's two.
    expect(reopened.logEntryCount).toBe(31);
    expect(reopened.logPayloadBytes).toBe((6 + 2) * commandBytes);
    expect(reopened.appliedThrough).toBe(25);
    await reopened.close();

    applied.length = 0;
    const second = await leaderWithPlayedFollowers({ fileSystem: disk, stateMachine });
    // Apply resumed after 25: 26..31 once each (32 is the new leader's empty entry).
    expect(applied).toEqual([26, 27, 28, 29, 30, 31]);
    const before = second.toC().length;
    followerCAcknowledgesFirstEntry(second);
    await second.pump();
    const appends = appendsOf(second.toC().slice(before));
    const sentCommands = appends.flatMap((append) =>
      append.entries.filter((entry) => entry.kind === 'command'),
    );
    expect(sentCommands.map((entry) => entry.index)).toEqual(
      Array.from({ length: 30 }, (_, offset) => offset + 2),
    );
    expect(sentCommands.map((entry) => decoder.decode(entry.command))).toEqual(commands);
    expect(second.logs).toContain('append refilled from the log');
    expect(second.fatal).toEqual([]);
    await second.node.close();
  });

  it('rejects a negative payload window', async () => {
    const time = new ManualTime();
    await expect(
      LeaderFollowerNode.open({
        id: 'a',
        members: ['a'],
        transport: { send: () => undefined, onMessage: () => undefined },
        stateMachine: {
          apply: () => undefined,
          snapshot: () => new Uint8Array(),
          restore: () => undefined,
        },
        fileSystem: new FaultFileSystem({ random: seededRandom(1) }),
        dataDirectory: '/data',
        clock: time,
        timers: time,
        random: { next: () => 0 },
        payloadCacheBytes: -1,
      }),
    ).rejects.toBeInstanceOf(RangeError);
  });
});
