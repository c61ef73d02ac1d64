import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryReader } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import type { AuthCommand } from './auth-command.js';
import { decodeAuthCommand, encodeAuthCommand } from './auth-command.js';
import {
  MAX_PERMISSION_BYTES,
  MAX_PERMISSIONS_PER_ROLE,
  MAX_ROLES_PER_USER,
} from './auth-limits.js';
import { AuthState } from './auth-state.js';

const KEY = 'k'.repeat(32);

function encoded(state: AuthState): Buffer {
  const writer = new BinaryWriter(64);
  state.encode(writer);
  return Buffer.from(writer.finishExact());
}

function withRoot(): AuthState {
  const state = new AuthState();
  state.apply({ op: 'userAdd', name: 'root', passwordHash: 'h', noPassword: false });
  state.apply({ op: 'userGrantRole', user: 'root', role: 'root' });
  return state;
}

describe('AuthState', () => {
  it('enables only with a root user holding the root role (etcd errors)', () => {
    const state = new AuthState();
    expect(state.apply({ op: 'enable', signingKey: KEY }).error).toBe('rootUserNotExist');
    state.apply({ op: 'userAdd', name: 'root', passwordHash: 'h', noPassword: false });
    expect(state.apply({ op: 'enable', signingKey: KEY }).error).toBe('rootRoleNotExist');
    state.apply({ op: 'userGrantRole', user: 'root', role: 'root' });
    expect(state.apply({ op: 'enable', signingKey: KEY })).toEqual({ authRevision: 3 });
    expect(state.enabled).toBe(true);
    expect(state.signingKey).toBe(KEY);
  });

  it('refuses to remove root while enabled, and names every failure as etcd does', () => {
    const state = withRoot();
    state.apply({ op: 'enable', signingKey: KEY });
    expect(state.apply({ op: 'userDelete', name: 'root' }).error).toBe('invalidAuthMgmt');
    expect(state.apply({ op: 'userRevokeRole', name: 'root', role: 'root' }).error).toBe(
      'invalidAuthMgmt',
    );
    expect(state.apply({ op: 'roleDelete', role: 'root' }).error).toBe('invalidAuthMgmt');
    expect(
      state.apply({ op: 'userAdd', name: 'root', passwordHash: 'h', noPassword: false }).error,
    ).toBe('userAlreadyExist');
    expect(
      state.apply({ op: 'userAdd', name: '', passwordHash: 'h', noPassword: false }).error,
    ).toBe('userEmpty');
    expect(state.apply({ op: 'roleAdd', name: '' }).error).toBe('roleEmpty');
    expect(state.apply({ op: 'userGrantRole', user: 'bob', role: 'root' }).error).toBe(
      'userNotFound',
    );
    expect(state.apply({ op: 'userGrantRole', user: 'root', role: 'nope' }).error).toBe(
      'roleNotFound',
    );
    expect(state.apply({ op: 'userRevokeRole', name: 'root', role: 'r' }).error).toBe(
      'roleNotGranted',
    );
    state.apply({ op: 'roleAdd', name: 'r' });
    expect(state.apply({ op: 'roleAdd', name: 'r' }).error).toBe('roleAlreadyExist');
    expect(
      state.apply({ op: 'roleRevokePermission', role: 'r', key: 'a', rangeEnd: '' }).error,
    ).toBe('permissionNotGranted');
    state.apply({ op: 'disable' });
    expect(state.apply({ op: 'userDelete', name: 'root' }).error).toBeUndefined();
  });

  it('bumps the auth revision only on changes', () => {
    const state = withRoot();
    const before = state.revision;
    state.apply({ op: 'roleAdd', name: '' });
    expect(state.revision).toBe(before);
    state.apply({ op: 'roleAdd', name: 'r' });
    expect(state.revision).toBe(before + 1);
  });

  it('grants key ranges through roles, and root everything', () => {
    const state = withRoot();
    state.apply({ op: 'userAdd', name: 'alice', passwordHash: 'h', noPassword: false });
    state.apply({ op: 'roleAdd', name: 'app' });
    state.apply({
      op: 'roleGrantPermission',
      name: 'app',
      permission: { type: 'read', key: 'app/', rangeEnd: 'app0' },
    });
    state.apply({ op: 'userGrantRole', user: 'alice', role: 'app' });
    expect(state.isPermitted('alice', 'read', 'app/x', '')).toBe(true);
    expect(state.isPermitted('alice', 'write', 'app/x', '')).toBe(false);
    expect(state.isPermitted('alice', 'read', 'other', '')).toBe(false);
    expect(state.isPermitted('root', 'write', 'anything', '\0')).toBe(true);
    expect(state.isPermitted('nobody', 'read', 'app/x', '')).toBe(false);
    // Upgrading the same key and range replaces the permission's type.
    state.apply({
      op: 'roleGrantPermission',
      name: 'app',
      permission: { type: 'readwrite', key: 'app/', rangeEnd: 'app0' },
    });
    expect(state.role('app')).toHaveLength(1);
    expect(state.isPermitted('alice', 'write', 'app/x', '')).toBe(true);
    // Deleting the role revokes it from its users.
    state.apply({ op: 'roleDelete', role: 'app' });
    expect(state.user('alice')?.roles).toEqual([]);
    expect(state.isPermitted('alice', 'read', 'app/x', '')).toBe(false);
  });

  it('stamps a user on creation and password change (old tokens die)', () => {
    const state = withRoot();
    state.apply({ op: 'userAdd', name: 'bob', passwordHash: 'h1', noPassword: false });
    const first = state.user('bob')?.stamp;
    state.apply({ op: 'userChangePassword', name: 'bob', passwordHash: 'h2' });
    expect(state.user('bob')?.stamp).toBeGreaterThan(first as number);
  });

  it('bounds roles per user and permissions per role', () => {
    const state = withRoot();
    state.apply({ op: 'userAdd', name: 'u', passwordHash: 'h', noPassword: false });
    for (let index = 0; index < MAX_ROLES_PER_USER; index++) {
      state.apply({ op: 'roleAdd', name: `r${index}` });
      expect(
        state.apply({ op: 'userGrantRole', user: 'u', role: `r${index}` }).error,
      ).toBeUndefined();
    }
    state.apply({ op: 'roleAdd', name: 'extra' });
    expect(state.apply({ op: 'userGrantRole', user: 'u', role: 'extra' }).error).toBe(
      'tooManyRolesOfUser',
    );
    for (let index = 0; index < MAX_PERMISSIONS_PER_ROLE; index++) {
      state.apply({
        op: 'roleGrantPermission',
        name: 'extra',
        permission: { type: 'read', key: `k${index}`, rangeEnd: '' },
      });
    }
    expect(
      state.apply({
        op: 'roleGrantPermission',
        name: 'extra',
        permission: { type: 'read', key: 'one-more', rangeEnd: '' },
      }).error,
    ).toBe('tooManyPermissions');
    expect(
      state.apply({ op: 'userAdd', name: 'x'.repeat(257), passwordHash: 'h', noPassword: false })
        .error,
    ).toBe('invalidAuthMgmt');
  });

  it('bounds the bytes of all permissions together, and forgets what revokes free', () => {
    const state = withRoot();
    const big = (index: number): string => `${String(index).padStart(8, '0')}${'k'.repeat(4088)}`;
    let granted = 0;
    let refused: string | undefined;
    for (let role = 0; refused === undefined; role++) {
      state.apply({ op: 'roleAdd', name: `big${role}` });
      for (let index = 0; index < MAX_PERMISSIONS_PER_ROLE && refused === undefined; index++) {
        refused = state.apply({
          op: 'roleGrantPermission',
          name: `big${role}`,
          permission: {
            type: 'read',
            key: big(granted),
            rangeEnd: `${big(granted).slice(0, -1)}l`,
          },
        }).error;
        if (refused === undefined) granted++;
      }
    }
    expect(refused).toBe('tooManyPermissions');
    expect(granted * 8192).toBeLessThanOrEqual(MAX_PERMISSION_BYTES);
    expect((granted + 1) * 8192).toBeGreaterThan(MAX_PERMISSION_BYTES);
    // Deleting a role frees its bytes; a snapshot round trip keeps the count.
    expect(state.apply({ op: 'roleAdd', name: 'fresh0' }).error).toBeUndefined();
    expect(
      state.apply({
        op: 'roleGrantPermission',
        name: 'fresh0',
        permission: { type: 'read', key: 'small', rangeEnd: '' },
      }).error,
    ).toBe('tooManyPermissions');
    state.apply({ op: 'roleDelete', role: 'big0' });
    const restored = AuthState.decode(new BinaryReader(encoded(state)));
    restored.apply({ op: 'roleAdd', name: 'fresh' });
    const retry = {
      op: 'roleGrantPermission' as const,
      name: 'fresh',
      permission: { type: 'read' as const, key: 'small', rangeEnd: '' },
    };
    expect(restored.apply(retry).error).toBeUndefined();
  });

  const name = fc.constantFrom('root', 'alice', 'bob', 'r1', 'r2', '');
  const command: fc.Arbitrary<AuthCommand> = fc.oneof(
    fc.constant<AuthCommand>({ op: 'enable', signingKey: KEY }),
    fc.constant<AuthCommand>({ op: 'disable' }),
    fc.record({
      op: fc.constant('userAdd' as const),
      name,
      passwordHash: fc.string({ maxLength: 4 }),
      noPassword: fc.boolean(),
    }),
    fc.record({ op: fc.constant('userDelete' as const), name }),
    fc.record({
      op: fc.constant('userChangePassword' as const),
      name,
      passwordHash: fc.string({ maxLength: 4 }),
    }),
    fc.record({ op: fc.constant('userGrantRole' as const), user: name, role: name }),
    fc.record({ op: fc.constant('userRevokeRole' as const), name, role: name }),
    fc.record({ op: fc.constant('roleAdd' as const), name }),
    fc.record({ op: fc.constant('roleDelete' as const), role: name }),
    fc.record({
      op: fc.constant('roleGrantPermission' as const),
      name,
      permission: fc.record({
        type: fc.constantFrom('read' as const, 'write' as const, 'readwrite' as const),
        key: fc.constantFrom('a', 'b', 'c'),
        rangeEnd: fc.constantFrom('', '\0', 'b', 'd'),
      }),
    }),
    fc.record({
      op: fc.constant('roleRevokePermission' as const),
      role: name,
      key: fc.constantFrom('a', 'b', 'c'),
      rangeEnd: fc.constantFrom('', '\0', 'b', 'd'),
    }),
  );

  it('is deterministic, survives encode/decode, and encodes commands losslessly', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), fc.nat(40), (commands, cut) => {
        const one = new AuthState();
        const other = new AuthState();
        const results = commands.map((each) => one.apply(each));
        // The second replica restores a snapshot midway, then applies the rest from the log.
        commands.slice(0, cut).forEach((each) => other.apply(each));
        const restored = AuthState.decode(new BinaryReader(encoded(other)));
        const replayed = commands.slice(0, cut).map((_each, index) => results[index]);
        const rest = commands.slice(cut).map((each) => {
          const writer = new BinaryWriter(16);
          encodeAuthCommand(writer, each);
          return restored.apply(decodeAuthCommand(new BinaryReader(writer.finishExact())));
        });
        expect([...replayed, ...rest]).toEqual(results);
        expect(encoded(restored).equals(encoded(one))).toBe(true);
        for (const user of ['alice', 'bob', 'root']) {
          for (const key of ['a', 'b', 'c']) {
            expect(restored.isPermitted(user, 'read', key, '')).toBe(
              one.isPermitted(user, 'read', key, ''),
            );
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
