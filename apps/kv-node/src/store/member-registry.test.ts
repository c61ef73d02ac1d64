import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand } from '../codec/command-codec.js';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { KvStateMachine } from './kv-state-machine.js';
import { encodeSnapshot, SnapshotDecoder } from './kv-snapshot-codec.js';
import { writeRegisteredMember } from './member-registry.js';
import type { MemberRegistryCommand, RegisteredMember } from './member-registry.js';

const added: RegisteredMember = {
  replicationId: 'a1b2c3',
  id: '10597059',
  name: '',
  peerUrls: ['http://127.0.0.1:2480'],
  clientUrls: [],
};

function memberCommand(request: MemberRegistryCommand): Uint8Array {
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

const other: RegisteredMember = { ...added, replicationId: 'd4e5f6', id: '13952502' };

/** A machine with two described members, `added` requested as a voter, `other` settled. */
function machineWithRequests(): KvStateMachine {
  const machine = new KvStateMachine();
  machine.apply(1, memberCommand({ kind: 'member-put', member: added }));
  machine.apply(2, memberCommand({ kind: 'member-put', member: other }));
  machine.apply(
    3,
    memberCommand({
      kind: 'member-voter-request',
      replicationId: other.replicationId,
      requested: true,
    }),
  );
  machine.apply(
    4,
    memberCommand({
      kind: 'member-voter-request',
      replicationId: added.replicationId,
      requested: true,
    }),
  );
  machine.apply(
    5,
    memberCommand({
      kind: 'member-voter-request',
      replicationId: other.replicationId,
      requested: false,
    }),
  );
  machine.apply(6, memberCommand({ kind: 'member-forget', replicationId: 'm2', id: '42' }));
  return machine;
}

/**
 * A snapshot of `machine` in format 5 (the registry without voter requests), as kv-node wrote
 * it before the requests were replicated: format 4's bytes, then the registry record, last.
 */
function formatFiveSnapshot(machine: KvStateMachine, registryRecord: Uint8Array): Uint8Array {
  const decoder = new SnapshotDecoder();
  decoder.push(machine.snapshot());
  const { members: _members, ...withoutMembers } = decoder.finish();
  const [formatFour] = encodeSnapshot(
    {
      ...withoutMembers,
      auth: encoded((writer) => machine.auth.encode(writer)),
      leases: encoded((writer) => machine.leases.encode(writer)),
    },
    Infinity,
    256,
  );
  const bytes = Buffer.concat([
    formatFour as Uint8Array,
    encoded((writer) => writer.writeBytes(registryRecord)),
  ]);
  expect(bytes[5]).toBe(4);
  bytes[5] = 5;
  return bytes;
}

/** The registry record of format 5: the descriptions and the removed ids, nothing more. */
function formatFiveRegistry(members: RegisteredMember[], removedIds: string[]): Uint8Array {
  return encoded((writer) => {
    writer.writeVarint(members.length);
    for (const member of members) writeRegisteredMember(writer, member);
    writer.writeVarint(removedIds.length);
    for (const id of removedIds) writer.writeUtf8(id);
  });
}

describe('voter requests in the member registry', () => {
  it('are recorded and settled through the log, and kept in snapshots (format 6)', async () => {
    const machine = machineWithRequests();
    expect(machine.members.voterRequests()).toEqual([added.replicationId]);
    expect(machine.members.isVoterRequested(added.replicationId)).toBe(true);
    expect(machine.members.isVoterRequested(other.replicationId)).toBe(false);
    expect(machine.store.revision).toBe(1);

    const bytes = machine.snapshot();
    expect(bytes[5]).toBe(6);
    const fromBytes = new KvStateMachine();
    fromBytes.apply(
      1,
      memberCommand({ kind: 'member-voter-request', replicationId: 'stale', requested: true }),
    );
    fromBytes.restore(bytes, 6);
    expect(fromBytes.members.voterRequests()).toEqual([added.replicationId]);
    expect(fromBytes.members.list()).toEqual([added, other]);
    expect(fromBytes.members.wasRemoved('42')).toBe(true);

    const fromChunks = new KvStateMachine();
    const chunks = [...machine.snapshotChunks(64)];
    async function* stream(): AsyncGenerator<Uint8Array> {
      for (const chunk of chunks) yield await Promise.resolve(chunk);
    }
    await fromChunks.restoreChunks(stream(), 6);
    expect(fromChunks.members.voterRequests()).toEqual([added.replicationId]);
  });

  it('are none in a snapshot of format 5, whose registry is restored as it was', () => {
    const machine = machineWithRequests();
    const restored = new KvStateMachine();
    restored.apply(
      1,
      memberCommand({ kind: 'member-voter-request', replicationId: 'stale', requested: true }),
    );
    restored.restore(formatFiveSnapshot(machine, formatFiveRegistry([added, other], ['42'])), 6);
    expect(restored.members.list()).toEqual([added, other]);
    expect(restored.members.wasRemoved('42')).toBe(true);
    expect(restored.members.voterRequests()).toEqual([]);
  });

  it('refuse bad bytes: a request flag other than 0 or 1, a registry record of the wrong format, an unknown format', () => {
    const command = memberCommand({
      kind: 'member-voter-request',
      replicationId: 'a1b2c3',
      requested: true,
    });
    expect(decodeCommand(command).command).toEqual({
      type: 'maintenance',
      request: { kind: 'member-voter-request', replicationId: 'a1b2c3', requested: true },
    });
    // The flag is the command's last byte.
    const badFlag = Uint8Array.from(command);
    badFlag[badFlag.length - 1] = 2;
    expect(() => decodeCommand(badFlag)).toThrow(MalformedEncodingError);
    expect(() => decodeCommand(command.subarray(0, command.length - 1))).toThrow(
      MalformedEncodingError,
    );

    const machine = machineWithRequests();
    const restore = (bytes: Uint8Array): void => new KvStateMachine().restore(bytes, 6);
    // Format 5 whose record goes on with requests: trailing bytes, not silently dropped.
    const withRequests = encoded((writer) => machine.members.encode(writer));
    expect(() => restore(formatFiveSnapshot(machine, withRequests))).toThrow(
      'trailing bytes after members',
    );
    // Format 6 whose record ends before its requests: cut short, not an empty request set.
    const cut = formatFiveSnapshot(machine, formatFiveRegistry([added], []));
    cut[5] = 6;
    expect(() => restore(cut)).toThrow(/members ends early/);
    const unknown = Uint8Array.from(machine.snapshot());
    unknown[5] = 7;
    expect(() => restore(unknown)).toThrow('unknown snapshot format 7');
  });
});

function encoded(write: (writer: BinaryWriter) => void): Uint8Array {
  const writer = new BinaryWriter(64);
  write(writer);
  return writer.finishExact();
}
