import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import { NodeStoppedError } from './errors.js';
import { InvariantViolation } from './invariant-violation.js';
import { LeaderFollowerNode } from './leader-follower-node.js';
import type { LogEntry } from './log-entry.js';
import { encodeMessage } from './message-codec.js';
import type { Message } from './messages.js';
import { ManualTime } from './test-support/manual-time.js';
import { settle } from './test-support/node-event-loop.js';

const entry = (index: number, generation: number): LogEntry => ({
  index,
  generation,
  kind: 'command',
  command: Uint8Array.of(index),
});

describe('a node whose core finds a broken invariant', () => {
  it('fails stop: the InvariantViolation propagates to the owner and the node stops', async () => {
    const time = new ManualTime();
    let deliver: ((from: string, type: number, payload: Uint8Array) => void) | undefined;
    const fatal: unknown[] = [];
    const errorLines: string[] = [];
    const ignore = (): void => undefined;
    const logger = {
      debug: ignore,
      info: ignore,
      warn: ignore,
      error: (_fields: Record<string, unknown>, message: string) => errorLines.push(message),
    };
    const node = await LeaderFollowerNode.open({
      id: 'b',
      members: ['a', 'b', 'c'],
      transport: { send: () => undefined, onMessage: (handler) => (deliver = handler) },
      stateMachine: {
        apply: () => undefined,
        snapshot: () => new Uint8Array(),
        restore: () => undefined,
      },
      fileSystem: new FaultFileSystem({ random: seededRandom(9) }),
      dataDirectory: '/data',
      clock: time,
      timers: time,
      random: { next: () => 0.5 },
      logger,
      onFatalError: (error) => fatal.push(error),
    });
    node.start();
    const send = (message: Message): void => {
      const { type, payload } = encodeMessage(message);
      deliver?.('a', type, payload);
    };
    // Leader a replicates entries 1..2 of generation 1 and says they are committed.
    send({
      kind: 'append',
      generation: 1,
      prevIndex: 0,
      prevGeneration: 0,
      entries: [entry(1, 1), entry(2, 1)],
      highWaterMark: 2,
    });
    await settle();
    expect(node.failure).toBeUndefined();
    expect(node.highWaterMark).toBe(2);
    // A (broken) leader of generation 2 replaces committed entry 2: no correct run does this.
    send({
      kind: 'append',
      generation: 2,
      prevIndex: 1,
      prevGeneration: 1,
      entries: [entry(2, 2)],
      highWaterMark: 2,
    });
    await settle();
    expect(node.failure).toBeInstanceOf(InvariantViolation);
    expect((node.failure as InvariantViolation).invariant).toBe('truncation-below-high-water-mark');
    expect(fatal).toEqual([node.failure]);
    expect(errorLines).toEqual(['safety violation; stopping']);
    await expect(node.propose(Uint8Array.of(1))).rejects.toBeInstanceOf(NodeStoppedError);
    await node.close();
  });
});
