/**
 * One conformance suite for every state store: the same random command sequence, applied to a
 * state machine on each backend, gives the same outcome for every command, the same key-value
 * hash and the same snapshot bytes, also across restarts of the durable backend (which replays
 * the log from the start, as a node without a snapshot does) and across snapshot installs.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KvCommand } from '../codec/command-codec.js';
import { encodeCommand } from '../codec/command-codec.js';
import { hashKeyValues } from './kv-hash.js';
import { KvStateMachine } from './kv-state-machine.js';
import type { RequestOp } from './kv-types.js';
import { rangeRequest } from './kv-types.js';
import type { LmdbCommitPolicy } from './lmdb-state-store.js';
import type { LmdbStateStore } from './lmdb-state-store.js';
import type { StateStore } from './state-store.js';
import { MemoryStateStore } from './state-store.js';
import { temporaryLmdbStores } from '../../test/support/temporary-lmdb.js';

/** Commits every few commands, so reads merge the overlay with LMDB all the time. */
const EAGER_COMMITS: LmdbCommitPolicy = { maxPendingKeys: 3, maxPendingCommands: 4 };

/** Commit policies from every command to rarely, so writes meet the overlay and LMDB alike. */
const commitPolicy: fc.Arbitrary<LmdbCommitPolicy> = fc.record({
  maxPendingKeys: fc.integer({ min: 1, max: 24 }),
  maxPendingCommands: fc.integer({ min: 1, max: 24 }),
});

const lmdbStores = temporaryLmdbStores('kv-state-');
const lmdbPath = lmdbStores.path;

function openLmdb(path: string, policy = EAGER_COMMITS): LmdbStateStore {
  return lmdbStores.open(path, policy);
}

function machineOn(stateStore: StateStore): KvStateMachine {
  return new KvStateMachine({ maxEntries: 4, retainRevisions: 6 }, { stateStore });
}

// Keys with bytes above 0x7f and a common prefix, so byte order and ranges are exercised.
const key = fc.constantFrom('a', 'ab', 'b', 'b\u00ff', 'c', '\u00e9', 'z\u0000');
const rangeEnd = fc.constantFrom('', '\0', 'b', 'c', '\u00ff');
const value = fc.constantFrom('', '1', 'two', 'v\u00ff\u0000', 'x'.repeat(300));
const requestId = fc.option(fc.constantFrom('r1', 'r2', 'r3'), { nil: undefined });
const lease = fc.option(fc.constantFrom('7', '8'), { nil: undefined });

const op: fc.Arbitrary<RequestOp> = fc.oneof(
  fc.record({ key, value, lease }).map(({ key, value, lease }) => ({
    type: 'put' as const,
    request: { key, value, prevKv: true, ...(lease === undefined ? {} : { lease }) },
  })),
  fc.record({ key, rangeEnd }).map(({ key, rangeEnd }) => ({
    type: 'deleteRange' as const,
    request: { key, rangeEnd, prevKv: true },
  })),
  fc.record({ key, rangeEnd, revision: fc.nat(12) }).map(({ key, rangeEnd, revision }) => ({
    type: 'range' as const,
    request: rangeRequest(key, { rangeEnd, revision }),
  })),
);

const command: fc.Arbitrary<KvCommand | 'restart'> = fc.oneof(
  { weight: 4, arbitrary: op.filter((one) => one.type !== 'range').map(withId) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        key,
        version: fc.nat(3),
        success: fc.array(op, { maxLength: 3 }),
        failure: fc.array(op, { maxLength: 2 }),
      })
      .map(({ key, version, success, failure }) => ({
        type: 'txn' as const,
        request: {
          compare: [
            {
              target: 'version' as const,
              result: 'equal' as const,
              key,
              rangeEnd: '',
              operand: version,
            },
          ],
          success,
          failure,
        },
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ id: fc.constantFrom('7', '8'), grant: fc.boolean() })
      .map(({ id, grant }) => ({
        type: 'lease' as const,
        request: grant
          ? { op: 'grant' as const, id, ttlSeconds: 60 }
          : { op: 'revoke' as const, id, expired: false },
      })),
  },
  {
    weight: 1,
    arbitrary: fc.nat(14).map((revision) => ({
      type: 'maintenance' as const,
      request: { kind: 'compact' as const, revision, physical: false },
    })),
  },
  { weight: 1, arbitrary: fc.constant('restart' as const) },
);

function withId(one: RequestOp): KvCommand {
  return one as KvCommand;
}

const commands = fc.array(fc.tuple(command, requestId), { minLength: 1, maxLength: 40 });

/** Everything a client could observe of a state machine, for comparison. */
function observed(machine: KvStateMachine): unknown {
  const store = machine.store;
  return {
    appliedIndex: machine.appliedIndex,
    revision: store.revision,
    compactRevision: store.compactRevision,
    size: store.size,
    accountedBytes: store.accountedBytes,
    hash: hashKeyValues(store),
    all: store.range(rangeRequest('', { rangeEnd: '\0' })),
    changes: Array.from({ length: store.revision }, (_, at) => store.changesAt(at + 1)),
    snapshot: Buffer.from(machine.snapshot()).toString('base64'),
  };
}

describe.each([
  ['memory', (): StateStore => new MemoryStateStore()],
  ['lmdb', (): StateStore => openLmdb(lmdbPath())],
])('state store conformance: %s', (name, openStore) => {
  it('opens empty, with nothing recovered', () => {
    const machine = machineOn(openStore());
    expect(machine.backend).toBe(name);
    expect(observed(machine)).toEqual(observed(machineOn(new MemoryStateStore())));
  });
});

/** Every LMDB commit waits for an fdatasync: on a loaded machine a property run takes seconds. */
const FSYNC_BOUND_TIMEOUT_MS = 120_000;

describe('state store conformance: memory and LMDB agree', () => {
  it(
    'the same commands give the same outcomes and the same state, across restarts',
    () => {
      fc.assert(
        fc.property(commands, commitPolicy, (steps, policy) => {
          const path = lmdbPath();
          const memory = machineOn(new MemoryStateStore());
          let lmdb = machineOn(openLmdb(path, policy));
          const log: Uint8Array[] = [];
          for (const [step, id] of steps) {
            if (step === 'restart') {
              // A crash loses what was not committed; replaying the log restores it.
              lmdbStores.closeLatest();
              lmdb = machineOn(openLmdb(path, policy));
              log.forEach((bytes, at) => lmdb.apply(at + 1, bytes, false));
              expect(observed(lmdb)).toEqual(observed(memory));
              continue;
            }
            const withRequestId =
              id !== undefined &&
              (step.type === 'put' || step.type === 'deleteRange' || step.type === 'txn')
                ? { ...step, requestId: id }
                : step;
            const bytes = encodeCommand(withRequestId);
            log.push(bytes);
            const index = log.length;
            expect(lmdb.apply(index, bytes)).toEqual(memory.apply(index, bytes));
          }
          expect(observed(lmdb)).toEqual(observed(memory));
          for (
            let revision = memory.store.compactRevision || 1;
            revision <= memory.store.revision;
            revision++
          ) {
            const all = rangeRequest('', { rangeEnd: '\0' });
            expect(lmdb.store.range(all, revision)).toEqual(memory.store.range(all, revision));
          }
        }),
        { numRuns: 80 },
      );
    },
    FSYNC_BOUND_TIMEOUT_MS,
  );

  it(
    'a snapshot streams from one LMDB read, unchanged by the writes applied meanwhile',
    () => {
      fc.assert(
        fc.property(commands, commands, (before, during) => {
          const lmdb = machineOn(openLmdb(lmdbPath()));
          const memory = machineOn(new MemoryStateStore());
          let index = 0;
          for (const [step] of before) {
            if (step === 'restart') continue;
            const bytes = encodeCommand(step);
            index++;
            lmdb.apply(index, bytes);
            memory.apply(index, bytes);
          }
          const expected = Buffer.from(memory.snapshot());
          const chunks = lmdb.snapshotChunks(64)[Symbol.iterator]();
          const streamed: Uint8Array[] = [];
          // Nothing is read before these writes commit: the read transaction alone keeps the
          // snapshot as of the call.
          for (const [step] of during) {
            if (step !== 'restart') lmdb.apply(++index, encodeCommand(step));
          }
          for (let next = chunks.next(); next.done !== true; next = chunks.next()) {
            streamed.push(next.value);
          }
          expect(Buffer.concat(streamed).equals(expected)).toBe(true);
        }),
        { numRuns: 15 },
      );
    },
    FSYNC_BOUND_TIMEOUT_MS,
  );

  it(
    'installing a snapshot replaces the LMDB state whole, and it survives a restart',
    () => {
      fc.assert(
        fc.property(commands, commands, (before, source) => {
          const path = lmdbPath();
          const lmdb = machineOn(openLmdb(path));
          const leader = machineOn(new MemoryStateStore());
          let index = 0;
          for (const [step] of before) {
            if (step !== 'restart') lmdb.apply(++index, encodeCommand(step));
          }
          let leaderIndex = 0;
          for (const [step] of source) {
            if (step !== 'restart') leader.apply(++leaderIndex, encodeCommand(step));
          }
          // Compared with a memory store that installed the same snapshot: a snapshot does not
          // carry the leases of past entries, so neither knows them after the install.
          const snapshot = leader.snapshot();
          const reference = machineOn(new MemoryStateStore());
          reference.restore(snapshot, leaderIndex);
          lmdb.restore(snapshot, leaderIndex);
          expect(observed(lmdb)).toEqual(observed(reference));
          lmdbStores.closeLatest();
          const reopened = machineOn(openLmdb(path));
          expect(reopened.appliedIndex).toBe(leaderIndex);
          expect(observed(reopened)).toEqual(observed(reference));
        }),
        { numRuns: 15 },
      );
    },
    FSYNC_BOUND_TIMEOUT_MS,
  );
});
