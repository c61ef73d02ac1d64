/**
 * Issue 25's restart with a long log tail, in one process: a kv-node state machine on LMDB under
 * a one-member `@x/leader-follower` node writes many entries without a snapshot, so the log tail
 * is long and LMDB's last commit (its durable applied index A) lies inside it. Restarted, the
 * node hands the state machine nothing at or below A (each command is applied once), holds none
 * of their command bytes beyond its payload window, and serves the same state hash.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaderFollowerNode } from '@x/leader-follower';
import { NodeFileSystem } from '@x/wal';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeCommand } from '../src/codec/command-codec.js';
import { hashKeyValues } from '../src/store/kv-hash.js';
import { KvStateMachine } from '../src/store/kv-state-machine.js';
import { LmdbStateStore } from '../src/store/lmdb-state-store.js';

const WRITES = 300;
/** LMDB commits every 120 commands: with 300 writes its last commit is well inside the tail. */
const COMMIT_EVERY_COMMANDS = 120;
const PAYLOAD_WINDOW_BYTES = 4096;

const clock = { now: (): number => performance.now() };
const timers = {
  setTimeout: (callback: () => void, delayMs: number): unknown => setTimeout(callback, delayMs),
  clearTimeout: (handle: unknown): void => clearTimeout(handle as NodeJS.Timeout),
};

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0))
    rmSync(directory, { recursive: true, force: true });
});

interface Member {
  readonly node: LeaderFollowerNode;
  readonly machine: KvStateMachine;
  /** Every index handed to the state machine's apply, in order. */
  readonly applied: number[];
  close(): Promise<void>;
}

async function openMember(directory: string): Promise<Member> {
  const machine = new KvStateMachine(undefined, {
    stateStore: new LmdbStateStore(join(directory, 'kv-state.mdb'), {
      maxPendingKeys: 1_000_000,
      maxPendingCommands: COMMIT_EVERY_COMMANDS,
    }),
  });
  const applied: number[] = [];
  let node: LeaderFollowerNode;
  try {
    node = await LeaderFollowerNode.open({
      id: 'm1',
      members: ['m1'],
      transport: { send: () => undefined, onMessage: () => undefined },
      stateMachine: {
        apply: (index, command, awaited) => {
          applied.push(index);
          return machine.apply(index, command, awaited);
        },
        snapshot: () => machine.snapshotChunks(),
        restore: (snapshot, index) => machine.restore(snapshot, index),
        restoreChunks: (chunks, index) => machine.restoreChunks(chunks, index),
        durableAppliedIndex: () => machine.durableAppliedIndex(),
      },
      fileSystem: new NodeFileSystem(),
      dataDirectory: directory,
      clock,
      timers,
      random: { next: () => Math.random() },
      tickMs: 5,
      // No snapshot: the whole log stays, as with large txns under --snapshot-count.
      snapshotEveryEntries: 1_000_000,
      payloadCacheBytes: PAYLOAD_WINDOW_BYTES,
    });
  } catch (error) {
    machine.close();
    throw error;
  }
  node.start();
  return {
    node,
    machine,
    applied,
    close: async () => {
      await node.close();
      machine.close();
    },
  };
}

async function untilLeader(node: LeaderFollowerNode): Promise<void> {
  while (node.role !== 'leader') await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('kv-node on LMDB, restart with a long log tail', () => {
  it('applies nothing twice, keeps no command below the durable applied index, and serves the same state hash', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'kv-hollow-'));
    directories.push(directory);
    const first = await openMember(directory);
    await untilLeader(first.node);
    const value = 'v'.repeat(200);
    for (let write = 0; write < WRITES; write++) {
      const command = encodeCommand({
        type: 'put',
        request: { key: `key-${write % 100}`, value: `${write}-${value}`, prevKv: false },
      });
      await first.node.propose(command);
    }
    const lastIndex = first.node.appliedThrough;
    const before = hashKeyValues(first.machine.store);
    await first.close();

    const second = await openMember(directory);
    try {
      const durable = second.machine.durableAppliedIndex();
      // LMDB's last commit lies inside the tail: some entries after it, many before it.
      expect(durable).toBeGreaterThan(COMMIT_EVERY_COMMANDS);
      expect(durable).toBeLessThan(lastIndex);
      // Recovered: the command bytes held are those after A plus at most the payload window.
      const afterDurable = (lastIndex - durable) * 400;
      expect(second.node.logPayloadBytes).toBeLessThanOrEqual(afterDurable + PAYLOAD_WINDOW_BYTES);
      await untilLeader(second.node);
      while (second.node.appliedThrough < lastIndex) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // Apply resumed after A: every later entry once, nothing at or below A.
      const replayed = second.applied.filter((index) => index <= lastIndex);
      expect(replayed).toEqual(
        Array.from({ length: lastIndex - durable }, (_, offset) => durable + 1 + offset),
      );
      expect(hashKeyValues(second.machine.store)).toEqual(before);
    } finally {
      await second.close();
    }
  }, 60_000);
});
