/**
 * Three real kv-node processes with `--backend lmdb`: writes go on while every member is
 * SIGKILLed, three times over; after each restart every acknowledged write is there with its
 * value, and each member's LMDB file is in its data directory. Snapshots are frequent
 * (`--snapshot-count 40`), so restarts take the path that skips the snapshot the LMDB state
 * already holds and replays only the log after it. Status reports the LMDB file's size and the
 * part of it in use, as etcd reports its bbolt file's.
 */

import { existsSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessCluster, ProcessMember } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';

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

/** Puts `key`; resolves whether the cluster acknowledged it (any error: not acknowledged). */
async function put(member: ProcessMember, key: string, value: string): Promise<boolean> {
  try {
    const response = await fetch(`${member.clientUrl}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({ key: b64(key), value: b64(value) }),
    });
    return response.status === 200;
  } catch {
    return false;
  }
}

async function read(member: ProcessMember, key: string): Promise<string | undefined> {
  const response = await fetch(`${member.clientUrl}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: b64(key) }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { kvs?: { value?: string }[] };
  const kv = body.kvs?.[0];
  return kv === undefined ? undefined : fromB64(kv.value ?? '');
}

describe('kv-node on LMDB, real processes', () => {
  it('keeps every acknowledged write across SIGKILL of every member during writes', async () => {
    const acknowledged = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      const leader = await cluster.leader();
      let writing = true;
      const writer = (async () => {
        for (let index = 0; writing; index++) {
          const key = `r${round}/k${index % 60}`;
          const value = `${round}-${index}`;
          if (await put(leader, key, value)) acknowledged.set(key, value);
        }
      })();
      // Let enough writes through for a few snapshots and LMDB commits, then kill mid-stream.
      const deadline = Date.now() + 20_000;
      while (acknowledged.size < 40 * (round + 1) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await Promise.all(cluster.members.map((member) => cluster.kill(member)));
      writing = false;
      await writer;
      for (const member of cluster.members) {
        expect(existsSync(`${member.dataDir}/kv-state.mdb`)).toBe(true);
      }
      cluster.startAll();
      await cluster.waitReady();
      const newLeader = await cluster.leader();
      for (const [key, value] of acknowledged) {
        // A key written again after its acknowledged put may hold a later, unacknowledged value.
        const stored = await read(newLeader, key);
        expect(stored, key).toBeDefined();
        const [storedRound, storedIndex] = (stored as string).split('-').map(Number);
        const [ackRound, ackIndex] = value.split('-').map(Number);
        expect(storedRound).toBe(ackRound);
        expect(storedIndex as number).toBeGreaterThanOrEqual(ackIndex as number);
      }
    }
    expect(acknowledged.size).toBeGreaterThanOrEqual(120);
  }, 240_000);

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
