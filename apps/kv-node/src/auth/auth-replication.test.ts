import { describe, expect, it } from 'vitest';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { decodeCommand, encodeCommand } from '../codec/command-codec.js';
import { decodeWriteResponse, encodeWriteResponse } from '../node/forwarding-messages.js';
import { KvStateMachine } from '../store/kv-state-machine.js';
import { encodeSnapshot } from '../store/kv-snapshot-codec.js';
import type { AuthCommand } from './auth-command.js';

const auth = (request: AuthCommand): Uint8Array => encodeCommand({ type: 'auth', request });

function setUp(machine: KvStateMachine): void {
  let index = machine.appliedIndex;
  machine.apply(
    ++index,
    auth({ op: 'userAdd', name: 'root', passwordHash: 'h', noPassword: false }),
  );
  machine.apply(++index, auth({ op: 'userGrantRole', user: 'root', role: 'root' }));
  machine.apply(++index, auth({ op: 'roleAdd', name: 'app' }));
  machine.apply(
    ++index,
    auth({
      op: 'roleGrantPermission',
      name: 'app',
      permission: { type: 'read', key: 'app/', rangeEnd: 'app0' },
    }),
  );
  machine.apply(++index, auth({ op: 'enable', signingKey: 's'.repeat(32) }));
}

describe('auth through the log', () => {
  it('applies auth commands to the auth state, not the keys', () => {
    const machine = new KvStateMachine();
    setUp(machine);
    expect(machine.auth.enabled).toBe(true);
    expect(machine.auth.roleNames()).toEqual(['app']);
    expect(machine.store.revision).toBe(1);
    expect(machine.appliedIndex).toBe(5);
    expect(machine.apply(6, auth({ op: 'roleAdd', name: 'app' }))).toEqual({
      status: 'auth',
      result: { authRevision: 5, error: 'roleAlreadyExist' },
    });
  });

  it('decodes the command it encoded', () => {
    const request: AuthCommand = {
      op: 'roleRevokePermission',
      role: 'r',
      key: '\0\xff',
      rangeEnd: '\0',
    };
    expect(decodeCommand(auth(request)).command).toEqual({ type: 'auth', request });
  });

  it('keeps the auth state in snapshots, whole or in chunks', async () => {
    const machine = new KvStateMachine();
    setUp(machine);
    const restored = new KvStateMachine();
    restored.restore(machine.snapshot(), 5);
    expect(restored.auth.enabled).toBe(true);
    expect(restored.auth.signingKey).toBe('s'.repeat(32));
    expect(restored.auth.isPermitted('root', 'write', 'x', '')).toBe(true);
    const chunked = new KvStateMachine();
    await chunked.restoreChunks(
      (async function* () {
        for (const chunk of machine.snapshotChunks(64)) {
          for (let start = 0; start < chunk.length; start += 7) {
            // Cut anywhere, and arriving over time as from a disk.
            await Promise.resolve();
            yield chunk.subarray(start, start + 7);
          }
        }
      })(),
      5,
    );
    expect(chunked.auth.roleNames()).toEqual(['app']);
    expect(Buffer.from(chunked.snapshot()).equals(Buffer.from(machine.snapshot()))).toBe(true);
  });

  it('restores a snapshot written before auth existed with auth disabled', () => {
    const old = encodeSnapshot({ revision: 1, keys: [], packed: [], remembered: [] }, Infinity, 64);
    const machine = new KvStateMachine();
    setUp(machine);
    machine.restore([...old][0] as Uint8Array, 9);
    expect(machine.auth.enabled).toBe(false);
    expect(machine.auth.userNames()).toEqual([]);
  });

  it('carries an auth result back to a follower that forwarded the command', () => {
    const bytes = encodeWriteResponse(7, {
      status: 'auth',
      result: { authRevision: 3, error: 'userNotFound' },
    });
    expect(decodeWriteResponse(bytes)).toEqual({
      correlationId: 7,
      outcome: { status: 'auth', result: { authRevision: 3, error: 'userNotFound' } },
    });
  });

  it('never lets a truncated auth state decode', () => {
    const machine = new KvStateMachine();
    setUp(machine);
    const writer = new BinaryWriter(64);
    machine.auth.encode(writer);
    const bytes = writer.finishExact();
    for (let cut = 0; cut < bytes.length; cut++) {
      const view = {
        revision: 1,
        keys: [],
        packed: [],
        remembered: [],
        auth: bytes.subarray(0, cut),
      };
      const [snapshot] = encodeSnapshot(view, Infinity, 64);
      expect(() => new KvStateMachine().restore(snapshot as Uint8Array, 1)).toThrow(
        MalformedEncodingError,
      );
    }
  });
});
