import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KvCommand } from '../codec/command-codec.js';
import { decodeCommand, encodeCommand, isTxnCommand } from '../codec/command-codec.js';
import type { AuthCommand } from '../auth/auth-command.js';
import { AuthState } from '../auth/auth-state.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { encodeSnapshot } from '../store/kv-snapshot-codec.js';
import { KvStateMachine } from '../store/kv-state-machine.js';
import type { RequestOp } from '../store/kv-types.js';
import { rangeRequest } from '../store/kv-types.js';

const grant = (id: string, ttlSeconds = 10): KvCommand => ({
  type: 'lease',
  request: { op: 'grant', id, ttlSeconds },
});
const revoke = (id: string): KvCommand => ({
  type: 'lease',
  request: { op: 'revoke', id, expired: false },
});
const put = (key: string, lease?: string): KvCommand => ({
  type: 'put',
  request: { key, value: 'v', prevKv: false, ...(lease === undefined ? {} : { lease }) },
});
const putOp = (key: string, lease?: string): RequestOp => ({
  type: 'put',
  request: { key, value: 'v', prevKv: false, ...(lease === undefined ? {} : { lease }) },
});

class Replica {
  readonly machine = new KvStateMachine();
  index = 0;
  apply(command: KvCommand) {
    return this.machine.apply(++this.index, encodeCommand(command));
  }
  has(key: string): boolean {
    return this.machine.store.range(rangeRequest(key)).kvs.length > 0;
  }
}

describe('leases in the state machine', () => {
  it("compares a key's LEASE as attached, also on a replica restored from a snapshot", () => {
    const original = new Replica();
    original.apply(grant('5', 30));
    original.apply(put('a', '5'));
    original.apply(put('b'));
    const leaseIs = (replica: Replica, key: string, lease: string): boolean => {
      const outcome = replica.apply({
        type: 'txn',
        request: {
          compare: [{ target: 'lease', result: 'equal', key, rangeEnd: '', operand: lease }],
          success: [],
          failure: [],
        },
      });
      if (outcome?.status !== 'applied' || outcome.result.type !== 'txn') {
        throw new Error(`the txn was answered ${JSON.stringify(outcome)}`);
      }
      return outcome.result.result.succeeded;
    };
    const restored = new Replica();
    restored.machine.restore(original.machine.snapshot(), original.index);
    restored.index = original.index;
    for (const replica of [original, restored]) {
      expect([leaseIs(replica, 'a', '5'), leaseIs(replica, 'b', '0')]).toEqual([true, true]);
      expect(leaseIs(replica, 'a', '0')).toBe(false);
    }
  });

  it('attaches keys by put and txn, detaches them on delete or a put without lease, and revokes in one revision', () => {
    const replica = new Replica();
    expect(replica.apply(grant('5', 30))).toEqual({
      status: 'lease',
      result: { revision: 1, id: '5', ttlSeconds: 30 },
    });
    expect(replica.apply(grant('5'))).toEqual({
      status: 'lease',
      result: { revision: 1, error: 'leaseExists' },
    });
    replica.apply(put('a', '5'));
    replica.apply({
      type: 'txn',
      request: { compare: [], success: [putOp('b', '5'), putOp('c', '5')], failure: [] },
    });
    replica.apply(put('d', '5'));
    replica.apply(put('d'));
    replica.apply({ type: 'deleteRange', request: { key: 'c', rangeEnd: '', prevKv: false } });
    const leases = replica.machine.leases;
    expect(leases.keysOf('5')).toEqual(['a', 'b']);
    expect(leases.leaseOf('d')).toBeUndefined();
    const before = replica.machine.store.revision;
    expect(replica.apply(revoke('5'))).toEqual({
      status: 'lease',
      result: { revision: before + 1 },
    });
    expect(replica.has('a') || replica.has('b')).toBe(false);
    expect(replica.has('d')).toBe(true);
    expect(replica.apply(revoke('5'))).toEqual({
      status: 'lease',
      result: { revision: before + 1, error: 'leaseNotFound' },
    });
  });

  it('refuses a put or txn naming a missing lease, applying nothing', () => {
    const replica = new Replica();
    replica.apply(grant('1'));
    const revision = replica.machine.store.revision;
    expect(replica.apply(put('x', '2'))).toEqual({
      status: 'lease',
      result: { revision, error: 'leaseNotFound' },
    });
    const txn: KvCommand = {
      type: 'txn',
      request: { compare: [], success: [putOp('y', '1')], failure: [putOp('z', '2')] },
    };
    expect(replica.apply(txn)?.status).toBe('lease');
    expect(replica.machine.store.revision).toBe(revision);
    expect(replica.has('x') || replica.has('y')).toBe(false);
  });

  it('refuses attaching more keys than a lease may hold', () => {
    const replica = new Replica();
    replica.apply(grant('1'));
    // The production bound is 10,000 keys: fill it with one txn per 1,000 keys.
    for (let batch = 0; batch < 10; batch++) {
      const success = Array.from({ length: 1000 }, (_, index) =>
        putOp(`k${batch * 1000 + index}`, '1'),
      );
      expect(
        replica.apply({ type: 'txn', request: { compare: [], success, failure: [] } })?.status,
      ).toBe('applied');
    }
    expect(replica.apply(put('one-more', '1'))).toMatchObject({
      status: 'lease',
      result: { error: 'tooManyKeysOnLease' },
    });
    // Putting a key already on the lease again is fine.
    expect(replica.apply(put('k0', '1'))?.status).toBe('applied');
  });

  it('carries leases in the log encoding of puts and txns, and only where there are leases', () => {
    const leased: KvCommand = {
      type: 'txn',
      request: {
        compare: [],
        success: [
          putOp('a', '-7'),
          {
            type: 'txn',
            request: { compare: [], success: [putOp('b')], failure: [putOp('c', '9')] },
          },
        ],
        failure: [putOp('d', '9223372036854775807')],
      },
    };
    const bytes = encodeCommand(leased);
    expect(isTxnCommand(bytes)).toBe(true);
    expect(decodeCommand(bytes).command).toEqual(leased);
    expect(decodeCommand(encodeCommand(put('p', '3'))).command).toEqual(put('p', '3'));
    // Without leases the bytes are what they were before leases existed (kind 1).
    expect(encodeCommand(put('p'))[1]).toBe(1);
    expect(decodeCommand(encodeCommand(revoke('12'))).command).toEqual(revoke('12'));
  });

  it('restores leases from a snapshot and agrees with a replica that applied every command', () => {
    const command = fc.oneof(
      fc.constantFrom('1', '2', '3').map((id) => grant(id, 5)),
      fc.constantFrom('1', '2', '3').map(revoke),
      fc
        .tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.constantFrom(undefined, '1', '2', '3'))
        .map(([key, lease]) => put(key, lease)),
      fc.constantFrom('a', 'b', 'c', 'd').map((key): KvCommand => ({
        type: 'deleteRange',
        request: { key, rangeEnd: '', prevKv: false },
      })),
      fc.constant<KvCommand>({
        type: 'deleteRange',
        request: { key: 'b', rangeEnd: 'd', prevKv: false },
      }),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), fc.nat(40), (commands, cut) => {
        const whole = new Replica();
        const restored = new Replica();
        commands.forEach((next, index) => {
          const outcome = whole.apply(next);
          if (index === cut) {
            restored.machine.restore(whole.machine.snapshot(), whole.index);
            restored.index = whole.index;
          } else if (index > cut) {
            expect(restored.apply(next)).toEqual(outcome);
          }
        });
        if (cut < commands.length) {
          expect(restored.machine.snapshot()).toEqual(whole.machine.snapshot());
        }
        // Attached keys exist, and exist exactly once on their lease.
        whole.machine.leases.forEachAttachedKey((key, id) => {
          expect(whole.has(key)).toBe(true);
          expect(whole.machine.leases.keysOf(id)).toContain(key);
        });
      }),
    );
  });

  it('restores a snapshot written before leases (format 2) with no leases', () => {
    const replica = new Replica();
    replica.apply(grant('1'));
    replica.apply(put('a', '1'));
    const source = new Replica();
    source.apply(put('b'));
    const auth = new BinaryWriter(64);
    new AuthState().encode(auth);
    // A view without a lease table encodes as format 2, as members before leases wrote it.
    const [format2] = encodeSnapshot(
      { ...source.machine.store.packedView(), remembered: [], auth: auth.finishExact() },
      Infinity,
      64,
    );
    replica.machine.restore(format2 as Uint8Array, 7);
    expect(replica.machine.leases.size).toBe(0);
    expect(replica.has('a')).toBe(false);
    expect(replica.has('b')).toBe(true);
  });

  it("checks etcd's lease permissions on apply: revoking and attaching need write on the lease's keys", () => {
    const replica = new Replica();
    const authCommand = (request: AuthCommand): KvCommand => ({ type: 'auth', request });
    replica.apply(
      authCommand({ op: 'userAdd', name: 'root', passwordHash: 'h', noPassword: false }),
    );
    replica.apply(authCommand({ op: 'userGrantRole', user: 'root', role: 'root' }));
    replica.apply(authCommand({ op: 'roleAdd', name: 'app' }));
    replica.apply(
      authCommand({
        op: 'roleGrantPermission',
        name: 'app',
        permission: { type: 'readwrite', key: 'app/', rangeEnd: 'app0' },
      }),
    );
    replica.apply(
      authCommand({ op: 'userAdd', name: 'alice', passwordHash: 'h', noPassword: false }),
    );
    replica.apply(authCommand({ op: 'userGrantRole', user: 'alice', role: 'app' }));
    replica.apply(authCommand({ op: 'enable', signingKey: 's'.repeat(32) }));
    const asUser = (user: string, command: KvCommand): KvCommand => ({ ...command, user });
    replica.apply(asUser('root', grant('9')));
    replica.apply(asUser('root', put('secret', '9')));
    expect(replica.apply(asUser('alice', put('app/x', '9')))).toMatchObject({
      status: 'auth',
      result: { error: 'permissionDenied' },
    });
    expect(replica.apply(asUser('alice', revoke('9')))).toMatchObject({
      status: 'auth',
      result: { error: 'permissionDenied' },
    });
    expect(replica.has('secret')).toBe(true);
    // Alice may attach to and revoke a lease whose keys she may write.
    replica.apply(asUser('alice', grant('10')));
    expect(replica.apply(asUser('alice', put('app/y', '10')))?.status).toBe('applied');
    expect(replica.apply(asUser('alice', revoke('10')))?.status).toBe('lease');
    expect(replica.has('app/y')).toBe(false);
    // The leader's expiry is made as no user and always applies.
    expect(
      replica.apply({ type: 'lease', request: { op: 'revoke', id: '9', expired: true } }),
    ).toMatchObject({ status: 'lease' });
    expect(replica.has('secret')).toBe(false);
  });
});
