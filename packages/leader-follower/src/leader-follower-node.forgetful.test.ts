import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import { MemberStorageLostError } from './errors.js';
import { LeaderFollowerNode, type StateMachine } from './leader-follower-node.js';
import { ManualTime } from './test-support/manual-time.js';
import { settle } from './test-support/node-event-loop.js';

// A forgetful member refuses to start (ISSUE-23 finding 2): the checks the node makes on open.

const list: StateMachine = {
  apply: () => undefined,
  snapshot: () => new Uint8Array(),
  restore: () => undefined,
};

async function openSolo(disk: FaultFileSystem) {
  const time = new ManualTime();
  const node = await LeaderFollowerNode.open({
    id: 'solo',
    members: ['solo'],
    transport: { send: () => undefined, onMessage: () => undefined },
    stateMachine: list,
    fileSystem: disk,
    dataDirectory: '/data',
    clock: time,
    timers: time,
    random: { next: () => 0.25 },
    recordAcknowledgedEveryEntries: 4,
  });
  return { node, time };
}

/** A one-member cluster that committed `count` commands, closed again. */
async function writeCommands(disk: FaultFileSystem, count: number): Promise<void> {
  const { node, time } = await openSolo(disk);
  node.start();
  for (let step = 0; step < 50 && node.role !== 'leader'; step++) {
    time.advance(100);
    await settle();
  }
  expect(node.role).toBe('leader');
  for (let i = 0; i < count; i++) {
    const applied = node.propose(new Uint8Array([i]));
    await settle();
    await applied;
  }
  await settle();
  await node.close();
}

const lossOf = async (disk: FaultFileSystem): Promise<MemberStorageLostError> => {
  const error = await openSolo(disk).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MemberStorageLostError);
  return error as MemberStorageLostError;
};

describe('a forgetful member refuses to start', () => {
  it('when its log directory is gone but its state beside the vote is not', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(1) });
    await writeCommands(disk, 3);
    disk.removeTree('/data/log-1');
    expect(await disk.readdir('/data')).not.toContain('log-1');
    const error = await lossOf(disk);
    expect(error.kind).toBe('log-missing');
    expect(error.message).toMatch(/no log-\*\/ log directory/);
  });

  it('when its log ends before the index it recorded as acknowledged', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(2) });
    await writeCommands(disk, 10);
    // Every segment emptied by hand: the log opens empty, yet entries through ~8 were recorded.
    for (const path of disk.listFiles().filter((p) => p.endsWith('.wal'))) {
      await disk.unlink(path);
    }
    const error = await lossOf(disk);
    expect(error.kind).toBe('log-shorter-than-acknowledged');
    expect(error.message).toMatch(/recorded entries through \d+ as durably acknowledged/);
  });

  it('but starts on brand-new storage and on its own intact storage', async () => {
    const disk = new FaultFileSystem({ random: seededRandom(3) });
    await writeCommands(disk, 10);
    const { node } = await openSolo(disk);
    expect(node.status().lastIndex).toBe(11);
    await node.close();
  });
});
