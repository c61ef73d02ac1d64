/**
 * Issue 25's crash acceptance on real processes: three kv-node members with `--backend lmdb`,
 * every member SIGKILLed at once while writers are mid-stream, five times over. After each
 * restart every member must start (a member that exits instead fails the round at once, with its
 * output: the LMDB file may never be the cause of a refused start), every acknowledged write must
 * be on every member with its value (or a later one from the same writer), and the cluster must
 * take a new write. Snapshots are frequent (`--snapshot-count 40`) and each round kills after a
 * different number of acknowledged writes, so the kills land at different points between LMDB
 * commits and snapshots, and restarts take the path that skips the snapshot the LMDB state
 * already holds and replays only the log after it. A member stopped while the others write past
 * the log they keep catches up from the leader's snapshot, installed into LMDB's other set of
 * databases, and keeps it across a restart. Status reports the LMDB file's size and the part of
 * it in use, as etcd reports its bbolt file's.
 *
 * CI runs five rounds of small bursts (seconds). A soak runs more:
 *   KV_LMDB_KILL_ROUNDS=100 pnpm --filter @x/kv-node exec vitest run test/lmdb-backend.process.test.ts
 */

import type { ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { open } from 'lmdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessCluster, ProcessMember } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';

const rounds = Number(process.env.KV_LMDB_KILL_ROUNDS ?? 5);
/** Concurrent writers; writer `w` sends to member `w % 3`, so followers forward some writes. */
const WRITERS = 3;
/** Keys per writer and round: later writes overwrite earlier ones, as a live key space does. */
const KEYS_PER_WRITER = 20;

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const fromB64 = (text: string): string => Buffer.from(text, 'base64').toString();

let started: StartedCluster | undefined;
let cluster: ProcessCluster;

beforeAll(async () => {
  started = await startedCluster(3, {
    extraArgs: ['--backend', 'lmdb', '--snapshot-count', '40', '--request-timeout', '2000'],
  });
  cluster = started.cluster;
}, 60_000);

afterAll(async () => {
  await started?.stop();
});

/** Which set of databases a stopped member's LMDB file names live (it flips with each install). */
function liveSetOf(member: ProcessMember): number {
  const root = open({ path: `${member.dataDir}/kv-state.mdb`, maxDbs: 12, readOnly: true });
  try {
    const meta = root.openDB<{ liveSet?: number }, string>({ name: 'meta', encoding: 'msgpack' });
    return meta.get('state')?.liveSet ?? 0;
  } finally {
    void root.close();
  }
}

/** Puts `key`; resolves whether the cluster acknowledged it (any error: not acknowledged). */
async function put(member: ProcessMember, key: string, value: string): Promise<boolean> {
  try {
    const response = await fetch(`${member.clientUrl}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({ key: b64(key), value: b64(value) }),
      signal: AbortSignal.timeout(5000),
    });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Every key and value on `member`, by a linearizable range over the whole key space. */
async function everything(member: ProcessMember): Promise<Map<string, string>> {
  const response = await fetch(`${member.clientUrl}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: b64('\0'), range_end: b64('\0') }),
  });
  expect(response.status, member.name).toBe(200);
  const body = (await response.json()) as { kvs?: { key: string; value?: string }[] };
  return new Map((body.kvs ?? []).map((kv) => [fromB64(kv.key), fromB64(kv.value ?? '')]));
}

/**
 * Starts every member again and waits until each answers /readyz; throws as soon as one exits
 * instead, with its output (a refused start, e.g. an LMDB file it could not open).
 */
async function restartAll(): Promise<void> {
  cluster.startAll();
  const detach: (() => void)[] = [];
  const refused = new Promise<never>((_, reject) => {
    for (const member of cluster.members) {
      const child = member.process as ChildProcess;
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
        reject(
          new Error(
            `${member.name} refused to start (exit ${code ?? signal}):\n${member.output.join('')}`,
          ),
        );
      child.once('exit', onExit);
      detach.push(() => child.off('exit', onExit));
    }
  });
  try {
    await Promise.race([cluster.waitReady(), refused]);
  } finally {
    for (const off of detach) off();
  }
}

/** A written value (`round-writer-index`); a writer's later writes to a key have larger indexes. */
interface Written {
  readonly round: number;
  readonly writer: number;
  readonly index: number;
}

const valueOf = (written: Written): string => `${written.round}-${written.writer}-${written.index}`;

function parseValue(value: string): Written {
  const [round, writer, index] = value.split('-').map(Number);
  return { round: round as number, writer: writer as number, index: index as number };
}

describe('kv-node on LMDB, real processes', () => {
  it(
    `keeps every acknowledged write across SIGKILL of every member during writes, ${rounds} times`,
    async () => {
      const acknowledged = new Map<string, Written>();
      for (let round = 0; round < rounds; round++) {
        // 15, 25 or 35 acknowledged writes before the kill: before, across and after a snapshot.
        const killAfter = 15 + 10 * (round % 3);
        let acknowledgedThisRound = 0;
        let writing = true;
        const writers = Array.from({ length: WRITERS }, async (_, writer) => {
          const member = cluster.members[writer % cluster.members.length] as ProcessMember;
          for (let index = 0; writing; index++) {
            const key = `r${round}/w${writer}/k${index % KEYS_PER_WRITER}`;
            const written = { round, writer, index };
            if (await put(member, key, valueOf(written))) {
              acknowledged.set(key, written);
              acknowledgedThisRound++;
            }
          }
        });
        const deadline = Date.now() + 20_000;
        while (acknowledgedThisRound < killAfter && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        // Every member at once, with writes still in flight.
        await Promise.all(cluster.members.map((member) => cluster.kill(member)));
        writing = false;
        await Promise.all(writers);
        expect(acknowledgedThisRound, `round ${round}`).toBeGreaterThanOrEqual(killAfter);
        for (const member of cluster.members) {
          expect(existsSync(`${member.dataDir}/kv-state.mdb`), member.name).toBe(true);
        }

        await restartAll();
        for (const member of cluster.members) {
          const stored = await everything(member);
          for (const [key, written] of acknowledged) {
            const value = stored.get(key);
            expect(value, `${member.name} after round ${round}: ${key}`).toBeDefined();
            // A later write of the same writer may have been applied without an acknowledgement.
            const found = parseValue(value as string);
            expect({ round: found.round, writer: found.writer }, key).toEqual({
              round: written.round,
              writer: written.writer,
            });
            expect(found.index, key).toBeGreaterThanOrEqual(written.index);
          }
        }
        // The restarted cluster takes writes again, through its leader.
        const served = { round, writer: WRITERS, index: 0 };
        expect(await put(await cluster.leader(), `r${round}/after-restart`, valueOf(served))).toBe(
          true,
        );
        acknowledged.set(`r${round}/after-restart`, served);
      }
    },
    60_000 + rounds * 40_000,
  );

  it("a member that fell behind installs the leader's snapshot into LMDB and keeps it across a restart", async () => {
    const leader = await cluster.leader();
    const behind = cluster.members.find((member) => member !== leader) as ProcessMember;
    await cluster.kill(behind);
    const setBefore = liveSetOf(behind);
    // More than --snapshot-count (40) past a snapshot and the 40 entries kept after it: the
    // leader no longer has the log the member misses and sends its snapshot.
    const writes = 150;
    for (let index = 0; index < writes; index++) {
      expect(await put(leader, `behind/k${index}`, `v${index}`), `put ${index}`).toBe(true);
    }
    const expected = new Map<string, string>();
    for (const [key, value] of await everything(leader)) expected.set(key, value);
    // Its own state, read locally (serializable) once it caught up.
    const local = async (): Promise<Map<string, string>> => {
      const response = await fetch(`${behind.clientUrl}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify({ key: b64('\0'), range_end: b64('\0'), serializable: true }),
      });
      const body = (await response.json()) as { kvs?: { key: string; value?: string }[] };
      return new Map((body.kvs ?? []).map((kv) => [fromB64(kv.key), fromB64(kv.value ?? '')]));
    };
    const caughtUp = async (): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while ((await local()).get(`behind/k${writes - 1}`) === undefined) {
        if (Date.now() > deadline) throw new Error(`not caught up:\n${behind.output.join('')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    cluster.start(behind);
    await cluster.waitReady([behind]);
    await caughtUp();
    expect(await local()).toEqual(expected);

    // What the install committed is the member's state on disk, in the other set of databases.
    await cluster.kill(behind);
    expect(liveSetOf(behind)).toBe(1 - setBefore);
    cluster.start(behind);
    await cluster.waitReady([behind]);
    await caughtUp();
    expect(await local()).toEqual(expected);
  }, 120_000);

  it('reports the LMDB file size as dbSize and its used pages as dbSizeInUse', async () => {
    const member = cluster.members[0] as ProcessMember;
    const response = await fetch(`${member.clientUrl}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { dbSize?: string; dbSizeInUse?: string };
    const dbSize = Number(body.dbSize);
    const inUse = Number(body.dbSizeInUse);
    // The file only grows, and no commit can happen between the answer and this stat without
    // writes: nothing is written now.
    expect(dbSize).toBe(statSync(`${member.dataDir}/kv-state.mdb`).size);
    expect(inUse).toBeGreaterThan(0);
    expect(inUse).toBeLessThanOrEqual(dbSize);
  }, 60_000);
});
