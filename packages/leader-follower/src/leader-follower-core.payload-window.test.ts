import { describe, expect, it } from 'vitest';
import { LeaderFollowerCore } from './leader-follower-core.js';
import { isHollowEntry } from './log-entry.js';
import type { ReplicatedLog } from './replicated-log.js';
import { CoreNetwork } from './test-support/core-network.js';
import { seededRandom } from './test-support/seeded-random.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

function clusterWithLeaderA(payloadWindowBytes: number): CoreNetwork {
  const network = new CoreNetwork(['a', 'b', 'c'], { maxAppendBytes: 64 });
  network.payloadWindowBytes = payloadWindowBytes;
  network.elect('a');
  expect(network.leader()).toBe('a');
  return network;
}

describe('the payload window of the core', () => {
  it('drops only payloads that are applied and durable', () => {
    const network = clusterWithLeaderA(0);
    const a = network.core('a');
    network.holdPersistence('a');
    for (let i = 0; i < 5; i++) a.propose(bytes(`command ${i}`));
    network.deliver();
    // Stored on b and c, but neither durable nor applied on the leader: nothing may go hollow.
    a.releasePayloadsThrough(Number.MAX_SAFE_INTEGER, 0);
    expect(a.logPayloadBytes).toBe(5 * 'command 0'.length);
    network.releasePersistence('a');
    network.deliver();
    expect(a.status().appliedIndex).toBe(6);
    expect(a.logPayloadBytes).toBe(0);
    expect(a.logEntryCount).toBe(6);
    const hollow = a.entryAt(2);
    expect(hollow !== undefined && isHollowEntry(hollow)).toBe(true);
    expect(hollow).toMatchObject({ kind: 'command', hollowCommandBytes: 'command 0'.length });
  });

  it('keeps the most recent payloads within the window', () => {
    const network = clusterWithLeaderA(20);
    const a = network.core('a');
    for (let i = 0; i < 10; i++) a.propose(bytes(`c${i}`.padEnd(10, '-')));
    network.deliver();
    expect(a.logPayloadBytes).toBe(20);
    expect(a.entryAt(11)?.command).toEqual(bytes('c9'.padEnd(10, '-')));
    expect(a.entryAt(9)?.command.length).toBe(0);
  });

  it('catches up a follower behind the window with the right bytes, refilled from disk', () => {
    const network = clusterWithLeaderA(0);
    const a = network.core('a');
    network.isolate('c');
    const commands = Array.from({ length: 30 }, (_, i) => `lagging write ${i}`);
    for (const command of commands) a.propose(bytes(command));
    network.deliver();
    expect(a.logPayloadBytes).toBe(0);
    network.heal();
    network.runUntil(() => network.core('c').status().appliedIndex === a.status().lastIndex, 50);
    expect(network.refills.sent).toBeGreaterThan(1);
    const applied = (network.applied.get('c') ?? []).filter((entry) => entry.kind === 'command');
    expect(applied.map((entry) => text(entry.command))).toEqual(commands);
    // The follower drops the payloads too once it has applied them.
    expect(network.core('c').logPayloadBytes).toBe(0);
  });

  it('moves a follower whose entries left the disk on to the snapshot', () => {
    const network = clusterWithLeaderA(0);
    const a = network.core('a');
    network.isolate('c');
    for (let i = 0; i < 10; i++) a.propose(bytes(`w${i}`));
    network.deliver();
    // The disk lost entries the core still holds: appends that need them are dropped...
    const stored = network.storage.get('a');
    if (stored === undefined) throw new Error('no storage');
    stored.entries = stored.entries.filter((entry) => entry.index > 8);
    network.heal();
    network.run(3);
    expect(network.refills.dropped).toBeGreaterThan(0);
    expect(network.core('c').status().appliedIndex).toBeLessThan(8);
    // ...until the snapshot covers them and the follower is sent the snapshot instead.
    network.snapshotTaken('a', { index: 8, generation: 1, data: bytes('state') });
    network.runUntil(() => network.core('c').status().appliedIndex === 11, 50);
    expect(network.core('c').status().snapshotIndex).toBe(8);
  });

  it('stops rather than hand out a hollow entry to apply', () => {
    const b = new LeaderFollowerCore({
      id: 'b',
      members: ['a', 'b', 'c'],
      random: seededRandom(1),
      hardState: { generation: 1, votedFor: undefined },
      entries: [1, 2].map((index) => ({
        index,
        generation: 1,
        kind: 'command' as const,
        command: bytes(`e${index}`),
      })),
    });
    // Only a bug could do this (the public API never drops an unapplied payload): reach in.
    (b as unknown as { log: ReplicatedLog }).log.dropPayloadsThrough(2, 0);
    b.step('a', { kind: 'heartbeat', generation: 1, highWaterMark: 2, readRound: 0 });
    expect(() => b.takeReady()).toThrow(/hollow but not applied/);
  });
});
