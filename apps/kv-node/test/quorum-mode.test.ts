/**
 * Quorum mode's coordinator and peer protocol on an in-process cluster over real loopback
 * connections through the link proxy: the athens / byzantium / cyrene scenario at each
 * consistency level, early failure on suspected members, a clock an hour ahead, overlapping
 * quorums and the settings agreement. The same scenario with real processes and the HTTP API is
 * in quorum-mode.process.test.ts.
 */

import { afterEach, describe, expect, it } from 'vitest';
import {
  QuorumOutcomeUnknownError,
  QuorumSizesRefusedError,
  QuorumUnavailableError,
} from '../src/quorum/quorum-coordinator.js';
import { BelowCollectionHorizonError } from '../src/quorum/quorum-replica-store.js';
import { byteStringFromUtf8 } from '../src/store/byte-string.js';
import { compareValueVersions } from '../src/quorum/value-version.js';
import { InProcessQuorumCluster } from './support/quorum-cluster.js';

const names = ['athens', 'byzantium', 'cyrene'];
let cluster: InProcessQuorumCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function started(options: Partial<Parameters<typeof InProcessQuorumCluster.start>[0]> = {}) {
  cluster = await InProcessQuorumCluster.start({ names, ...options });
  for (const name of names) {
    await cluster.untilPeers(
      name,
      names.filter((peer) => peer !== name),
      false,
    );
  }
  return cluster;
}

const key = (text: string) => byteStringFromUtf8(text);

// Three members on real sockets and timers (hundreds of writes, anti-entropy rounds): vitest's 5 s
// default is a hang guard too tight for a loaded 2-core CI machine (one test hit it there).
describe('quorum mode: athens, byzantium and cyrene', { timeout: 60_000 }, () => {
  it('a write that reached two of three is read back by quorum and linearizable from byzantium come back without repair, while one reads it stale', async () => {
    const c = await started();
    const athens = c.member('athens').coordinator;
    const byzantium = c.member('byzantium').coordinator;
    const keys = ['title-one', 'title-quorum', 'title-linearizable'].map(key);
    for (const k of keys) await athens.write(k, 'Distributed Systems', 'quorum');
    await c.until('every member stores the first title', () =>
      names.every((name) =>
        keys.every((k) => c.member(name).store.get(k)?.value === 'Distributed Systems'),
      ),
    );

    // The write reaches athens and cyrene only: byzantium is cut off.
    c.proxy.isolate('byzantium');
    await c.untilPeers('athens', ['byzantium'], true);
    for (const k of keys) await athens.write(k, 'Microservices', 'quorum');
    for (const k of keys) {
      expect(c.member('athens').store.get(k)?.value).toBe('Microservices');
      expect(c.member('cyrene').store.get(k)?.value).toBe('Microservices');
      expect(c.member('byzantium').store.get(k)?.value).toBe('Distributed Systems');
    }

    // Byzantium comes back without repair; cyrene goes offline.
    c.proxy.healAll();
    c.proxy.isolate('cyrene');
    await c.untilPeers('byzantium', ['athens'], false);
    await c.untilPeers('byzantium', ['cyrene'], true);
    for (const k of keys) {
      expect(c.member('byzantium').store.get(k)?.value).toBe('Distributed Systems');
    }

    // `one` (R = 1): byzantium answers from its own stale copy.
    const [oneKey, quorumKey, linearizableKey] = keys as [string, string, string];
    expect((await byzantium.read(oneKey, 'one'))?.value).toBe('Distributed Systems');

    // `quorum` (R = 2): the newest of athens and byzantium wins: the acknowledged write.
    expect((await byzantium.read(quorumKey, 'quorum'))?.value).toBe('Microservices');

    // `linearizable`: the same value, and it is on a write quorum before the read returns.
    expect((await byzantium.read(linearizableKey, 'linearizable'))?.value).toBe('Microservices');
    expect(c.member('byzantium').store.get(linearizableKey)?.value).toBe('Microservices');

    // Read repair after the quorum read brings byzantium's copy up to date too.
    await c.until(
      'read repair reaches byzantium',
      () => c.member('byzantium').store.get(quorumKey)?.value === 'Microservices',
    );
    // The `one` read repaired nothing.
    expect(c.member('byzantium').store.get(oneKey)?.value).toBe('Distributed Systems');
  });

  it('a linearizable write goes above the highest timestamp a read quorum holds, even from a member whose clock is behind', async () => {
    const c = await started({ clockSkewMs: { byzantium: -400 } });
    const k = key('counter');
    // Byzantium does not see the first write, so its clock has not witnessed its timestamp.
    c.proxy.isolate('byzantium');
    await c.untilPeers('athens', ['byzantium'], true);
    const first = await c.member('athens').coordinator.write(k, 'one', 'linearizable');
    c.proxy.healAll();
    await c.untilPeers('byzantium', ['athens', 'cyrene'], false);
    // Byzantium's wall clock is 400 ms behind (within --max-clock-offset): only ABD's first
    // phase, which learns the highest timestamp of a read quorum, puts its write above.
    const second = await c.member('byzantium').coordinator.write(k, 'two', 'linearizable');
    expect(compareValueVersions(second, first)).toBeGreaterThan(0);
    expect((await c.member('cyrene').coordinator.read(k, 'linearizable'))?.value).toBe('two');
  });

  it('fails at once with a definite error when suspected members leave no quorum, and `one` still writes', async () => {
    const c = await started();
    c.proxy.isolate('athens');
    await c.untilPeers('athens', ['byzantium', 'cyrene'], true);
    const athens = c.member('athens').coordinator;
    await expect(athens.write(key('k'), 'v', 'quorum')).rejects.toBeInstanceOf(
      QuorumUnavailableError,
    );
    await expect(athens.read(key('k'), 'linearizable')).rejects.toBeInstanceOf(
      QuorumUnavailableError,
    );
    expect(c.member('athens').store.get(key('k'))).toBeUndefined();
    await athens.write(key('k'), 'v', 'one');
    expect(c.member('athens').store.get(key('k'))?.value).toBe('v');
  });

  it('refuses the timestamps of a member whose clock is an hour ahead, counts them, and does not let them win', async () => {
    const c = await started({ clockSkewMs: { cyrene: 3_600_000 } });
    const k = key('k');
    await c.member('athens').coordinator.write(k, 'honest', 'quorum');
    const skewed = c.member('cyrene').coordinator.write(k, 'from the future', 'quorum');
    await expect(skewed).rejects.toBeInstanceOf(QuorumOutcomeUnknownError);
    const refusals = (name: string) => c.records.get(name)?.clockOffsetRefusals ?? 0;
    expect(refusals('athens') + refusals('byzantium')).toBeGreaterThan(0);
    for (const name of ['athens', 'byzantium']) {
      expect(c.member(name).store.get(k)?.value).toBe('honest');
    }
    expect((await c.member('athens').coordinator.read(k, 'linearizable'))?.value).toBe('honest');
  });

  it('refuses quorum and linearizable when R + W <= N, unless the request says one', async () => {
    const c = await started({ readQuorum: 1, writeQuorum: 1 });
    const athens = c.member('athens').coordinator;
    await expect(athens.write(key('k'), 'v', 'quorum')).rejects.toBeInstanceOf(
      QuorumSizesRefusedError,
    );
    await expect(athens.read(key('k'), 'linearizable')).rejects.toBeInstanceOf(
      QuorumSizesRefusedError,
    );
    await athens.write(key('k'), 'v', 'one');
    expect((await athens.read(key('k'), 'one'))?.value).toBe('v');
  });

  it('reads key ranges from a quorum, newest per key, tombstones left out', async () => {
    const c = await started();
    const athens = c.member('athens').coordinator;
    for (const name of ['a', 'b', 'c', 'd']) await athens.write(key(`p/${name}`), name, 'quorum');
    await athens.write(key('p/b'), null, 'quorum');
    await athens.write(key('q'), 'outside', 'quorum');
    const read = await c.member('cyrene').coordinator.range(key('p/'), key('p0'), 0, 'quorum');
    expect(read.entries.map(({ key: k }) => k)).toEqual(['p/a', 'p/c', 'p/d']);
    const limited = await c
      .member('byzantium')
      .coordinator.range(key('p/'), key('p0'), 2, 'linearizable');
    expect(limited.entries.map(({ key: k }) => k)).toEqual(['p/a', 'p/c']);
    expect(limited.more).toBe(true);
  });

  it('converges by anti-entropy alone: a member that missed writes and deletes gets them without being read', async () => {
    const c = await started({ antiEntropyIntervalMs: 50 });
    const athens = c.member('athens').coordinator;
    await athens.write(key('doomed'), 'soon deleted', 'quorum');
    await c.until(
      'cyrene stores the first key',
      () => c.member('cyrene').store.get(key('doomed')) !== undefined,
    );
    c.proxy.isolate('cyrene');
    await c.untilPeers('athens', ['cyrene'], true);
    for (let index = 0; index < 200; index++) {
      await athens.write(key(`missed/${index}`), `value ${index}`, 'quorum');
    }
    await athens.write(key('doomed'), null, 'quorum');
    const hashOf = (name: string) => c.member(name).store.stateHash();
    expect(hashOf('cyrene')).not.toBe(hashOf('athens'));
    c.proxy.healAll();
    await c.until('every member has the same state hash', () =>
      names.every((name) => hashOf(name) === hashOf('athens')),
    );
    expect(c.member('cyrene').store.get(key('missed/199'))?.value).toBe('value 199');
    // The delete reached cyrene: its tombstone, or nothing once every member held the tombstone
    // long enough for it to be collected.
    expect(c.member('cyrene').store.get(key('doomed'))?.value ?? null).toBeNull();
  });

  it('collects a tombstone once every member holds it, and an old write of the deleted key cannot bring it back', async () => {
    const c = await started({ tombstoneGraceMs: 0 });
    const athens = c.member('athens').coordinator;
    await athens.write(key('gone'), 'before the delete', 'quorum');
    const before = c.member('athens').store.get(key('gone'));
    await athens.write(key('gone'), null, 'quorum');
    // A write quorum holds the tombstone; cyrene may still hold the old value: nothing is
    // collected until anti-entropy has seen the tombstone on every member.
    for (const name of names) {
      const peers = names.filter((peer) => peer !== name);
      expect(c.member(name).store.collectTombstones(peers, Date.now(), 0)).toBe(0);
    }
    // Rounds until every member collected it (a round skips a peer suspected on a loaded host).
    const collectedEverywhere = () => names.every((name) => c.member(name).store.tombstones === 0);
    for (const deadline = Date.now() + 10_000; !collectedEverywhere();) {
      if (Date.now() > deadline) throw new Error('timed out waiting for every member to collect');
      for (const name of names) await c.member(name).antiEntropyRound();
    }
    for (const name of names) {
      const store = c.member(name).store;
      expect(store.tombstones).toBe(0);
      expect(store.get(key('gone'))).toBeUndefined();
      expect(store.collectionHorizon).toBeDefined();
      // The old value arriving late (a paused coordinator's write, a read repair) is refused.
      await expect(store.write(key('gone'), before as NonNullable<typeof before>)).rejects.toThrow(
        BelowCollectionHorizonError,
      );
    }
    const hashOf = (name: string) => c.member(name).store.stateHash();
    expect(new Set(names.map(hashOf)).size).toBe(1);
    // A new write of the key after the delete is an ordinary write.
    await athens.write(key('gone'), 'written again', 'quorum');
    expect((await c.member('cyrene').coordinator.read(key('gone'), 'quorum'))?.value).toBe(
      'written again',
    );
  }, 20_000);

  it('runs anti-entropy both ways: a member pulls what it missed and pushes what the peer missed', async () => {
    const c = await started();
    c.proxy.isolate('cyrene');
    await c.untilPeers('cyrene', ['athens', 'byzantium'], true);
    await c.member('cyrene').coordinator.write(key('only-on-cyrene'), 'c', 'one');
    await c.untilPeers('athens', ['cyrene'], true);
    await c.member('athens').coordinator.write(key('missed-by-cyrene'), 'a', 'quorum');
    c.proxy.healAll();
    await c.untilPeers('cyrene', ['athens', 'byzantium'], false);
    const rounds = [
      await c.member('cyrene').antiEntropyRound(),
      await c.member('cyrene').antiEntropyRound(),
    ];
    const total = (field: 'pulled' | 'pushed') =>
      rounds.reduce((sum, round) => sum + (round?.[field] ?? 0), 0);
    // The first peer gives cyrene the write it missed; the second has nothing more to give.
    expect(total('pulled')).toBe(1);
    expect(total('pushed')).toBe(2);
    for (const name of names) {
      expect(c.member(name).store.get(key('only-on-cyrene'))?.value).toBe('c');
      expect(c.member(name).store.get(key('missed-by-cyrene'))?.value).toBe('a');
    }
  });

  it('stops a member whose peers run other quorum settings', async () => {
    cluster = await InProcessQuorumCluster.start({ names, writeQuorumOf: { cyrene: 3 } });
    const c = cluster;
    await c.until('a member stops', () =>
      [...c.records.values()].some(({ fatal }) => fatal !== undefined),
    );
    const messages = [...c.records.values()].map(({ fatal }) => fatal?.message ?? '').join('\n');
    expect(messages).toMatch(/disagrees: quorums differ/);
  });
});
