/**
 * Tombstone collection never brings a deleted key back: three members of the real replica code
 * (store, replica service, replica client, anti-entropy) on one virtual wall clock, with writes
 * and deletes that reach only some members, writes held back and delivered late (a paused
 * coordinator, a slow read repair), and anti-entropy rounds that collect tombstones, in random
 * orders. After every step no member holds a value of a key older than a tombstone of that key
 * some member collected (writes held back the longest arrive after everything was collected); after the faults end, the members converge (equal state hashes) and
 * every key that was last deleted is gone everywhere.
 */

import fc from 'fast-check';
import { HybridClock } from '@x/clocks';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logging/logger.js';
import { AntiEntropy } from './anti-entropy.js';
import type { ReplicationSettings } from './quorum-messages.js';
import { BelowCollectionHorizonError, QuorumReplicaStore } from './quorum-replica-store.js';
import { QuorumReplicaClient } from './replica-client.js';
import { ReplicaService } from './replica-service.js';
import { compareValueVersions } from './value-version.js';
import type { StoredValue, ValueVersion } from './value-version.js';

const names = ['athens', 'byzantium', 'cyrene'];
const keys = ['a', 'b', 'c'];
const graceMs = 20;

interface Member {
  readonly store: QuorumReplicaStore;
  readonly clock: HybridClock;
  readonly service: ReplicaService;
  readonly replicas: QuorumReplicaClient;
  readonly antiEntropy: AntiEntropy;
}

type Step =
  | {
      kind: 'write';
      coordinator: number;
      key: number;
      remove: boolean;
      reach: boolean[];
      hold: boolean[];
    }
  | { kind: 'deliver'; index: number }
  | { kind: 'round'; member: number }
  | { kind: 'tick'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      coordinator: fc.nat({ max: 2 }),
      key: fc.nat({ max: keys.length - 1 }),
      remove: fc.boolean(),
      reach: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      hold: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('deliver' as const), index: fc.nat({ max: 20 }) }),
  },
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('round' as const), member: fc.nat({ max: 2 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      ms: fc.integer({ min: 1, max: 30 }),
    }),
  },
);

/** A write by the first member that reaches no other member (and is held back from none). */
function soloWrite(key: number, remove: boolean): Step {
  return {
    kind: 'write',
    coordinator: 0,
    key,
    remove,
    reach: [false, false, false],
    hold: [false, false, false],
  };
}

function cluster(wall: { now: () => number }): Member[] {
  const settings: ReplicationSettings = {
    mode: 'quorum',
    members: [...names].sort(),
    readQuorum: 2,
    writeQuorum: 2,
  };
  const members: Member[] = [];
  for (const self of names) {
    const peers = names.filter((name) => name !== self);
    const store = QuorumReplicaStore.inMemory();
    const clock = new HybridClock(wall, { maxOffsetMs: 1_000_000 });
    const service = new ReplicaService({
      store,
      clock,
      settings,
      logger: silentLogger,
      onDisagreement: (peer, reason) => {
        throw new Error(`${peer}: ${reason}`);
      },
      onClockOffset: () => undefined,
    });
    for (const peer of peers) service.agreedWith(peer);
    const replicas = new QuorumReplicaClient({
      self,
      store,
      transport: {
        request: (to, type, payload) =>
          (members[names.indexOf(to)] as Member).service.handle(self, type, payload),
      },
      clock,
      isSuspected: () => false,
      hasAgreed: () => true,
      timeoutMs: 1000,
      onClockOffset: () => undefined,
    });
    const antiEntropy = new AntiEntropy({
      self,
      peers,
      store,
      replicas,
      intervalMs: 0,
      tombstoneGraceMs: graceMs,
      nowWallMs: () => Math.max(wall.now(), clock.current.wallMs),
      logger: silentLogger,
    });
    members.push({ store, clock, service, replicas, antiEntropy });
  }
  return members;
}

describe('tombstone collection (property)', () => {
  it('never brings a deleted key back, and the members still converge', async () => {
    // How often the interesting paths ran: the property proves nothing if they never did.
    const sometimes = { collected: 0, soloWriteRefused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 150 }), async (steps) => {
        let wallMs = 1_000_000;
        const wall = { now: () => wallMs };
        const members = cluster(wall);
        /** Writes sent but held back: delivered late, or at the end. */
        const held: { from: number; to: number; key: string; stored: StoredValue }[] = [];
        /** The newest tombstone of each key some member collected. */
        const collected = new Map<string, ValueVersion>();
        const send = async (
          from: number,
          to: number,
          key: string,
          stored: StoredValue,
        ): Promise<void> => {
          // A refused write (below the horizon) is what a coordinator sees as a failed replica.
          await (members[from] as Member).replicas
            .write(names[to] as string, key, stored)
            .catch((error: unknown) => {
              if (!(error instanceof BelowCollectionHorizonError)) throw error;
              sometimes.soloWriteRefused++;
            });
        };
        const noteCollections = (before: Map<string, StoredValue | undefined>[]): void => {
          members.forEach((member, index) => {
            for (const key of keys) {
              const was = before[index]?.get(key);
              if (was?.value === null && member.store.get(key) === undefined) {
                const known = collected.get(key);
                if (compareValueVersions(was.version, known) > 0) collected.set(key, was.version);
                sometimes.collected++;
              }
            }
          });
        };
        const checkNoResurrection = (): void => {
          for (const member of members) {
            for (const [key, tombstone] of collected) {
              // An older tombstone arriving late is stored again (it brings nothing back); an
              // older value would undo the delete.
              const stored = member.store.get(key);
              if (stored !== undefined && stored.value !== null) {
                expect(compareValueVersions(stored.version, tombstone)).toBeGreaterThanOrEqual(0);
              }
            }
          }
        };
        const round = async (index: number): Promise<void> => {
          const before = members.map(
            (member) => new Map(keys.map((key) => [key, member.store.get(key)])),
          );
          await (members[index] as Member).antiEntropy.runRound();
          noteCollections(before);
        };
        for (const current of steps) {
          switch (current.kind) {
            case 'write': {
              const coordinator = members[current.coordinator] as Member;
              const key = keys[current.key] as string;
              const stored: StoredValue = {
                value: current.remove ? null : `v${wallMs}`,
                version: {
                  timestamp: coordinator.clock.tick(),
                  writer: names[current.coordinator] as string,
                },
              };
              for (let to = 0; to < names.length; to++) {
                if (to === current.coordinator || current.reach[to] === true) {
                  await send(current.coordinator, to, key, stored);
                } else if (current.hold[to] === true) {
                  held.push({ from: current.coordinator, to, key, stored });
                }
              }
              break;
            }
            case 'deliver': {
              const [late] = held.splice(current.index % Math.max(1, held.length), 1);
              if (late !== undefined) await send(late.from, late.to, late.key, late.stored);
              break;
            }
            case 'round':
              await round(current.member);
              break;
            case 'tick':
              wallMs += current.ms;
              break;
          }
          checkNoResurrection();
        }
        const settle = async (): Promise<void> => {
          for (let turn = 0; turn < 6; turn++) {
            wallMs += graceMs + 1;
            for (let index = 0; index < names.length; index++) {
              await round(index);
              await round(index);
            }
            checkNoResurrection();
          }
        };
        // The faults end and anti-entropy settles (collecting what it can); then the writes held
        // back all along arrive, like a coordinator waking from a long pause, and it settles again.
        await settle();
        for (const late of held.splice(0)) await send(late.from, late.to, late.key, late.stored);
        checkNoResurrection();
        await settle();
        const hashes = new Set(members.map((member) => member.store.stateHash()));
        expect(hashes.size).toBe(1);
        for (const key of keys) {
          const newest = members
            .map((member) => member.store.get(key))
            .reduce<StoredValue | undefined>(
              (best, stored) =>
                compareValueVersions(stored?.version, best?.version) > 0 ? stored : best,
              undefined,
            );
          // A key last deleted is gone everywhere once every member held its tombstone.
          if (newest?.value === null) throw new Error(`tombstone of ${key} not collected`);
        }
      }),
      {
        numRuns: 100,
        examples: [
          // Found by CI: an older tombstone delivered late, after every member collected the
          // key and forgot it, was stored again, and the value held back behind it then passed
          // for newer than that tombstone.
          [
            [
              { ...soloWrite(1, true), hold: [false, false, true] },
              { ...soloWrite(1, false), hold: [false, false, true] },
              soloWrite(1, true),
              soloWrite(0, false),
              { kind: 'tick', ms: 1 },
              soloWrite(0, false),
              soloWrite(0, false),
              { kind: 'round', member: 0 },
            ],
          ],
        ],
      },
    );
    expect(sometimes.collected).toBeGreaterThan(0);
    expect(sometimes.soloWriteRefused).toBeGreaterThan(0);
  }, 60_000);
});
