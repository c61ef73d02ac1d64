import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import { NodeStoppedError } from './errors.js';
import { LeaderFollowerNode, type Logger } from './leader-follower-node.js';
import { ManualTime } from './test-support/manual-time.js';
import { settle } from './test-support/node-event-loop.js';

// ISSUE-23 finding 8: a leader whose disk fails (fdatasync error) steps down at once and the
// error is logged once; it does not spend time handing over leadership it cannot hold.

describe('a leader whose disk fails', () => {
  it('fails stop at once: reports the failure, logs it once, hands nothing over', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(5) });
    const time = new ManualTime();
    const errors: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (_fields, message) => errors.push(message),
    };
    const fatal: unknown[] = [];
    const node = await LeaderFollowerNode.open({
      id: 'solo',
      members: ['solo'],
      transport: { send: () => undefined, onMessage: () => undefined },
      stateMachine: {
        apply: () => undefined,
        snapshot: () => new Uint8Array(),
        restore: () => undefined,
      },
      fileSystem: disk,
      dataDirectory: '/data',
      clock: time,
      timers: time,
      random: { next: () => 0.5 },
      logger,
      onFatalError: (error) => fatal.push(error),
    });
    node.start();
    for (let step = 0; step < 50 && node.role !== 'leader'; step++) {
      time.advance(100);
      await settle();
    }
    expect(node.role).toBe('leader');
    expect(node.failure).toBeUndefined();
    disk.injectFault({ operation: 'datasync', path: '.wal', times: 1 });
    const proposal = node.propose(new Uint8Array([1])).catch((error: unknown) => error);
    await settle();
    await proposal;
    expect(node.failure).toBeDefined();
    expect(fatal).toHaveLength(1);
    expect(errors, JSON.stringify(errors)).toEqual(['storage failed; stopping']);
    // Nothing to hand over: the caller (a graceful shutdown) learns it at once.
    await expect(node.transferLeadership()).rejects.toBeInstanceOf(NodeStoppedError);
    await node.close();
    expect(errors).toHaveLength(1);
  });
});
