import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../codec/command-codec.js';
import { rangeRequest } from '../store/kv-types.js';
import { KvStateMachine } from '../store/kv-state-machine.js';
import { BACKUP_HASH_BYTES, backupChunks, snapshotFromBackup } from './backup-file.js';

function machineWith(count: number): KvStateMachine {
  const machine = new KvStateMachine();
  for (let index = 1; index <= count; index++) {
    machine.apply(
      index,
      encodeCommand({
        type: 'put',
        request: { key: `k${index}`, value: `v${index}`, prevKv: false },
      }),
    );
  }
  return machine;
}

const backupOf = (machine: KvStateMachine, chunkBytes: number): Buffer =>
  Buffer.concat([...backupChunks(machine.snapshotChunks(chunkBytes))]);

describe('backup file', () => {
  it("is whole 512-byte blocks then their SHA-256 (etcd's frame), and restores", () => {
    for (const count of [0, 1, 40, 500]) {
      const machine = machineWith(count);
      const file = backupOf(machine, 64);
      expect(file.byteLength % 512).toBe(BACKUP_HASH_BYTES);
      const content = file.subarray(0, file.byteLength - BACKUP_HASH_BYTES);
      expect(createHash('sha256').update(content).digest()).toEqual(
        file.subarray(file.byteLength - BACKUP_HASH_BYTES),
      );
      const restored = new KvStateMachine();
      restored.restore(snapshotFromBackup(file), count);
      expect(restored.store.revision).toBe(machine.store.revision);
      expect(restored.store.range(rangeRequest('k', { rangeEnd: 'l' })).count).toBe(count);
    }
  });

  it('refuses a file that is damaged, cut short or not a backup', () => {
    const file = backupOf(machineWith(3), 1 << 20);
    const damaged = Buffer.from(file);
    damaged[20] = (damaged[20] as number) ^ 1;
    expect(() => snapshotFromBackup(damaged)).toThrow(/SHA-256 does not match/);
    expect(() => snapshotFromBackup(file.subarray(0, file.byteLength - 1))).toThrow(
      /not a kv-node backup/,
    );
    const other = Buffer.from(file);
    other[0] = 0x41;
    expect(() => snapshotFromBackup(other)).toThrow(/does not start with KVNODEB1/);
  });
});
