import { describe, expect, it } from 'vitest';
import { BinaryWriter } from '../codec/binary-writer.js';
import { encodeCommand } from '../codec/command-codec.js';
import { encodeSnapshot } from './kv-snapshot-codec.js';
import { KvStateMachine } from './kv-state-machine.js';
import { rangeRequest } from './kv-types.js';
import type { MaintenanceCommand } from './maintenance-command.js';

const put = (key: string, value: string): Uint8Array =>
  encodeCommand({ type: 'put', request: { key, value, prevKv: false } });
const maintenance = (request: MaintenanceCommand): Uint8Array =>
  encodeCommand({ type: 'maintenance', request });
const everything = rangeRequest('\0', { rangeEnd: '\0' });

function machineWithHistory(): KvStateMachine {
  const machine = new KvStateMachine();
  let index = 0;
  for (let round = 0; round < 5; round++) {
    machine.apply(++index, put('a', `a${round}`));
    machine.apply(++index, put(`k${round}`, 'v'));
  }
  machine.apply(
    ++index,
    encodeCommand({ type: 'deleteRange', request: { key: 'k', rangeEnd: 'l', prevKv: false } }),
  );
  machine.apply(++index, maintenance({ kind: 'compact', revision: 4, physical: false }));
  return machine;
}

describe('KvStateMachine history, compaction and alarms', () => {
  it('compacts through a command, the same way on every member, errors included', () => {
    const machine = machineWithHistory();
    expect(machine.store.compactRevision).toBe(4);
    expect(
      machine.apply(100, maintenance({ kind: 'compact', revision: 3, physical: true })),
    ).toEqual({ status: 'maintenance', result: { revision: 12, error: 'compacted', alarms: [] } });
    expect(
      machine.apply(101, maintenance({ kind: 'compact', revision: 13, physical: false })),
    ).toEqual({
      status: 'maintenance',
      result: { revision: 12, error: 'future_revision', alarms: [] },
    });
    expect(
      machine.apply(102, maintenance({ kind: 'compact', revision: 12, physical: false })),
    ).toEqual({ status: 'maintenance', result: { revision: 12, alarms: [] } });
  });

  it('carries the history, compact revision and alarms in snapshots', async () => {
    const machine = machineWithHistory();
    machine.apply(
      50,
      maintenance({
        kind: 'alarm',
        action: 'activate',
        member: { memberId: '18446744073709551615', alarm: 'NOSPACE' },
      }),
    );
    for (const chunked of [false, true]) {
      const restored = new KvStateMachine();
      if (chunked) {
        await restored.restoreChunks(
          (async function* () {
            for (const chunk of machine.snapshotChunks(64)) yield await Promise.resolve(chunk);
          })(),
          50,
        );
      } else {
        restored.restore(machine.snapshot(), 50);
      }
      expect(restored.store.compactRevision).toBe(4);
      expect(restored.store.accountedBytes).toBe(machine.store.accountedBytes);
      expect(restored.alarms.list()).toEqual(machine.alarms.list());
      for (let revision = 4; revision <= machine.store.revision; revision++) {
        expect(restored.store.range(everything, revision)).toEqual(
          machine.store.range(everything, revision),
        );
        expect(restored.store.changesAt(revision)).toEqual(machine.store.changesAt(revision));
      }
    }
  });

  it('restores an older snapshot (no history) with everything below its revision compacted', () => {
    const machine = machineWithHistory();
    const auth = new BinaryWriter(64);
    machine.auth.encode(auth);
    const { revision, keys, packed } = machine.store.packedView();
    const [formatTwo] = encodeSnapshot(
      { revision, keys, packed, remembered: [], auth: auth.finishExact() },
      Infinity,
      1024,
    );
    const restored = new KvStateMachine();
    restored.restore(formatTwo as Uint8Array, 9);
    expect(restored.store.compactRevision).toBe(revision);
    expect(restored.store.range(everything)).toEqual(machine.store.range(everything));
    expect(restored.store.accountedBytes).toBeLessThan(machine.store.accountedBytes);
  });

  it('refuses writes that add data while NOSPACE is raised; deletes and compaction go on', () => {
    const machine = machineWithHistory();
    const member = { memberId: '7', alarm: 'NOSPACE' as const };
    expect(machine.apply(60, maintenance({ kind: 'alarm', action: 'activate', member }))).toEqual({
      status: 'maintenance',
      result: { revision: 12, alarms: [member] },
    });
    expect(machine.apply(61, put('b', '1'))).toEqual({
      status: 'refused',
      reason: 'no_space',
      revision: 12,
    });
    const deleteA = encodeCommand({
      type: 'deleteRange',
      request: { key: 'a', rangeEnd: '', prevKv: false },
    });
    expect(machine.apply(62, deleteA)?.status).toBe('applied');
    expect(
      machine.apply(63, maintenance({ kind: 'compact', revision: 13, physical: false })),
    ).toMatchObject({ status: 'maintenance', result: { revision: 13 } });
    expect(machine.apply(64, maintenance({ kind: 'alarm', action: 'deactivate', member }))).toEqual(
      {
        status: 'maintenance',
        result: { revision: 13, alarms: [member] },
      },
    );
    expect(machine.apply(65, put('b', '1'))?.status).toBe('applied');
  });
});
