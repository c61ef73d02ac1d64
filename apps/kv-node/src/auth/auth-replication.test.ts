import { describe, expect, it } from 'vitest';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { decodeCommand, encodeCommand } from '../codec/command-codec.js';
import { decodeWriteBatchResponse, encodeWriteBatchResponse } from '../node/forwarding-messages.js';
import { KvStateMachine } from '../store/kv-state-machine.js';
import { rangeRequest } from '../store/kv-types.js';
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
    expect(
      machine.apply(
        6,
        encodeCommand({ type: 'auth', user: 'root', request: { op: 'roleAdd', name: 'app' } }),
      ),
    ).toEqual({ status: 'auth', result: { authRevision: 5, error: 'roleAlreadyExist' } });
  });

  it('checks the user of every write again when applying it (a revocation in between wins)', () => {
    const machine = new KvStateMachine();
    setUp(machine);
    // Without a user, management is refused once auth is enabled.
    expect(
      machine.apply(
        6,
        auth({ op: 'userAdd', name: 'alice', passwordHash: 'h', noPassword: false }),
      ),
    ).toMatchObject({ status: 'auth', result: { error: 'userEmpty' } });
    machine.apply(
      7,
      encodeCommand({
        type: 'auth',
        user: 'root',
        request: { op: 'userAdd', name: 'alice', passwordHash: 'h', noPassword: false },
      }),
    );
    machine.apply(
      8,
      encodeCommand({
        type: 'auth',
        user: 'root',
        request: {
          op: 'roleGrantPermission',
          name: 'app',
          permission: { type: 'readwrite', key: 'app/', rangeEnd: 'app0' },
        },
      }),
    );
    machine.apply(
      9,
      encodeCommand({
        type: 'auth',
        user: 'root',
        request: { op: 'userGrantRole', user: 'alice', role: 'app' },
      }),
    );
    const put = (key: string, user?: string): Uint8Array =>
      encodeCommand({
        type: 'put',
        request: { key, value: 'v', prevKv: false },
        ...(user === undefined ? {} : { user }),
      });
    // Without a user (received while auth was off, applied after it was enabled): refused.
    expect(machine.apply(10, put('app/1'))).toMatchObject({
      status: 'auth',
      result: { error: 'userEmpty' },
    });
    expect(machine.auth.user('alice')?.roles).toEqual(['app']);
    expect(machine.apply(11, put('app/1', 'alice'))?.status).toBe('applied');
    expect(machine.apply(12, put('secret', 'alice'))).toMatchObject({
      status: 'auth',
      result: { error: 'permissionDenied' },
    });
    // Accepted by a member's gateway, then the role is revoked before the write applies.
    const accepted = put('app/2', 'alice');
    machine.apply(
      13,
      encodeCommand({
        type: 'auth',
        user: 'root',
        request: { op: 'userRevokeRole', name: 'alice', role: 'app' },
      }),
    );
    expect(machine.apply(14, accepted)).toMatchObject({
      status: 'auth',
      result: { error: 'permissionDenied' },
    });
    expect(machine.store.range(rangeRequest('app/2')).count).toBe(0);
    expect(machine.store.range(rangeRequest('secret')).count).toBe(0);
    // Management by a non-root user is refused on apply too.
    expect(
      machine.apply(15, encodeCommand({ type: 'auth', user: 'alice', request: { op: 'disable' } })),
    ).toMatchObject({ status: 'auth', result: { error: 'permissionDenied' } });
    expect(machine.auth.enabled).toBe(true);
  });

  it('decodes the command it encoded', () => {
    const request: AuthCommand = {
      op: 'roleRevokePermission',
      role: 'r',
      key: '\0\xff',
      rangeEnd: '\0',
    };
    expect(decodeCommand(auth(request)).command).toEqual({ type: 'auth', request });
    const put = { type: 'put' as const, request: { key: 'k', value: 'v', prevKv: true } };
    expect(decodeCommand(encodeCommand({ ...put, user: 'alice', requestId: 'r' })).command).toEqual(
      {
        ...put,
        user: 'alice',
        requestId: 'r',
      },
    );
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
    const bytes = encodeWriteBatchResponse([
      {
        correlationId: 7,
        outcome: { status: 'auth', result: { authRevision: 3, error: 'userNotFound' } },
      },
    ]);
    expect(decodeWriteBatchResponse(bytes)).toEqual([
      {
        correlationId: 7,
        outcome: { status: 'auth', result: { authRevision: 3, error: 'userNotFound' } },
      },
    ]);
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
