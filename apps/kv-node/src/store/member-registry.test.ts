import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../codec/command-codec.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { KvStateMachine } from './kv-state-machine.js';
import { encodeSnapshot, SnapshotDecoder } from './kv-snapshot-codec.js';
import type { RegisteredMember } from './member-registry.js';

const added: RegisteredMember = {
  replicationId: 'a1b2c3',
  id: '10597059',
  name: '',
  peerUrls: ['http://127.0.0.1:2480'],
  clientUrls: [],
};

function memberCommand(
  request:
    | { kind: 'member-put'; member: RegisteredMember }
    | { kind: 'member-forget'; replicationId: string; id: string },
): Uint8Array {
  return encodeCommand({ type: 'maintenance', request });
}

describe('the member registry in the state machine', () => {
  it('applies descriptions and retirements through the log, and keeps them in snapshots', async () => {
    const machine = new KvStateMachine();
    machine.apply(1, memberCommand({ kind: 'member-put', member: added }));
    const published = { ...added, name: 'm4', clientUrls: ['http://127.0.0.1:2479'] };
    machine.apply(2, memberCommand({ kind: 'member-put', member: published }));
    machine.apply(3, memberCommand({ kind: 'member-forget', replicationId: 'm2', id: '42' }));
    expect(machine.members.get('a1b2c3')).toEqual(published);
    expect(machine.members.wasRemoved('42')).toBe(true);
    expect(machine.members.wasRemoved(added.id)).toBe(false);
    // Membership entries change no key and no revision.
    expect(machine.store.revision).toBe(1);

    const fromBytes = new KvStateMachine();
    fromBytes.restore(machine.snapshot(), 3);
    expect(fromBytes.members.list()).toEqual([published]);
    expect(fromBytes.members.wasRemoved('42')).toBe(true);

    const fromChunks = new KvStateMachine();
    const chunks = [...machine.snapshotChunks(64)];
    // Read one at a time, as storage streams them.
    async function* stream(): AsyncGenerator<Uint8Array> {
      for (const chunk of chunks) yield await Promise.resolve(chunk);
    }
    await fromChunks.restoreChunks(stream(), 3);
    expect(fromChunks.members.list()).toEqual([published]);
  });

  it('restores an empty registry from a snapshot of the format before it (4)', () => {
    const machine = new KvStateMachine();
    machine.apply(1, memberCommand({ kind: 'member-put', member: added }));
    const decoder = new SnapshotDecoder();
    decoder.push(machine.snapshot());
    const { members, ...withoutMembers } = decoder.finish();
    expect(members?.list()).toEqual([added]);
    const [formatFour] = encodeSnapshot(
      {
        ...withoutMembers,
        auth: encoded((writer) => machine.auth.encode(writer)),
        leases: encoded((writer) => machine.leases.encode(writer)),
      },
      Infinity,
      256,
    );
    // After the magic (a 5-byte varint): the format byte.
    expect(formatFour?.[5]).toBe(4);
    const restored = new KvStateMachine();
    restored.apply(1, memberCommand({ kind: 'member-put', member: added }));
    restored.restore(formatFour as Uint8Array, 1);
    expect(restored.members.list()).toEqual([]);
  });
});

function encoded(write: (writer: BinaryWriter) => void): Uint8Array {
  const writer = new BinaryWriter(64);
  write(writer);
  return writer.finishExact();
}
