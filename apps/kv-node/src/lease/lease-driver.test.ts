/**
 * A deterministic simulation of the lease clock on three replicas sharing one log, on virtual
 * time: leaders crash and the cluster goes without one for up to an election timeout before
 * another member takes over (a new generation), and the lease holder needs up to another election
 * timeout to find the new leader. Properties, over random seeds:
 * - while the holder sends keep-alives within the TTL (to whoever leads; none arrive while there
 *   is no leader), the lease never expires, across every failover;
 * - after the last keep-alive the lease expires, within TTL + election timeout (+ two ticks of
 *   the leader's 500 ms clock) of the last keep-alive or of the last leader change, whichever came
 *   later: a new leader gives every lease its full TTL plus an election timeout, as etcd's does;
 * - only the leader of the moment proposes the revoke (a follower never expires on its clock).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Timers } from '../http/api-context.js';
import { encodeCommand } from '../codec/command-codec.js';
import { KvStateMachine } from '../store/kv-state-machine.js';
import { rangeRequest } from '../store/kv-types.js';
import type { LeaseCommand } from './lease-command.js';
import { LEASE_TICK_MS, LeaseDriver } from './lease-driver.js';

const ELECTION_TIMEOUT_MS = 1000;

/** Virtual time: callbacks run in time order when the simulation advances. */
class VirtualTime implements Timers {
  now = 0;
  #next = 0;
  readonly #queue = new Map<number, { at: number; callback: () => void }>();

  setTimeout(callback: () => void, delayMs: number): unknown {
    const handle = this.#next++;
    this.#queue.set(handle, { at: this.now + delayMs, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#queue.delete(handle as number);
  }

  /** Runs every callback due up to `until`, letting promises settle after each. */
  async advanceTo(until: number): Promise<void> {
    for (;;) {
      let first: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#queue) {
        if (entry[1].at <= until && (first === undefined || entry[1].at < first[1].at)) {
          first = entry;
        }
      }
      if (first === undefined) break;
      this.#queue.delete(first[0]);
      this.now = first[1].at;
      first[1].callback();
      await settle();
    }
    this.now = until;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let turn = 0; turn < 5; turn++) await Promise.resolve();
}

class Cluster {
  readonly time = new VirtualTime();
  readonly machines = [new KvStateMachine(), new KvStateMachine(), new KvStateMachine()];
  readonly alive = [true, true, true];
  leader: number | undefined = 0;
  generation = 1;
  index = 0;
  /** Who proposed each revoke, and whether it led then. */
  readonly revokes: { by: number; leading: boolean; at: number }[] = [];
  readonly drivers: LeaseDriver[];

  constructor() {
    this.drivers = this.machines.map(
      (machine, member) =>
        new LeaseDriver({
          replica: {
            isLeader: () => this.alive[member] === true && this.leader === member,
            generation: () => this.generation,
            catchUp: () => Promise.resolve(),
            proposeLease: (command) => this.#propose(member, command),
          },
          table: machine.leases,
          now: () => this.time.now,
          timers: this.time,
          electionTimeoutMs: ELECTION_TIMEOUT_MS,
        }),
    );
    for (const driver of this.drivers) driver.start();
  }

  #propose(member: number, command: LeaseCommand): Promise<unknown> {
    const leading = this.alive[member] === true && this.leader === member;
    if (command.op === 'revoke') this.revokes.push({ by: member, leading, at: this.time.now });
    if (!leading) return Promise.reject(new Error('not leader'));
    this.append({ type: 'lease', request: command });
    return Promise.resolve();
  }

  /** Commits a command: every live member applies it (a crashed one catches up on restart). */
  append(command: Parameters<typeof encodeCommand>[0]): void {
    const bytes = encodeCommand(command);
    this.index++;
    for (const machine of this.machines) machine.apply(this.index, bytes);
  }

  crashLeader(): void {
    if (this.leader !== undefined) this.alive[this.leader] = false;
    this.leader = undefined;
  }

  elect(member: number): void {
    this.alive[member] = true;
    this.leader = member;
    this.generation++;
  }

  keyExists(): boolean {
    const machine = this.machines.find((_, member) => this.alive[member]) as KvStateMachine;
    return machine.store.range(rangeRequest('held')).kvs.length > 0;
  }

  /** Keep-alives reach no leader before this time (the holder is still looking for it). */
  holderFindsLeaderAt = 0;

  async keepAlive(id: string): Promise<boolean> {
    if (this.leader === undefined || this.time.now < this.holderFindsLeaderAt) return false;
    const answer = await (this.drivers[this.leader] as LeaseDriver).answer({ op: 'keepAlive', id });
    return answer !== undefined;
  }
}

describe('the lease clock across failovers (simulated)', () => {
  it('never expires a kept-alive lease, expires a dropped one within TTL + election timeout', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 8 }),
        fc.array(
          fc.record({
            after: fc.integer({ min: 0, max: 8000 }),
            outage: fc.integer({ min: 1, max: ELECTION_TIMEOUT_MS }),
            next: fc.nat(2),
            // How long the holder takes to find the new leader (its requests to the old one time
            // out after an election timeout).
            discovery: fc.integer({ min: 0, max: ELECTION_TIMEOUT_MS }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.integer({ min: 0, max: 5000 }),
        async (ttlSeconds, failovers, tail) => {
          const cluster = new Cluster();
          const id = '42';
          cluster.append({ type: 'lease', request: { op: 'grant', id, ttlSeconds } });
          cluster.append({
            type: 'put',
            request: { key: 'held', value: 'v', prevKv: false, lease: id },
          });
          // The holder sends a keep-alive a third of the TTL apart (as etcd's client does).
          const interval = (ttlSeconds * 1000) / 3;
          let lastAcknowledged = 0;
          let lastElected = 0;
          let sending = true;
          const sendLoop = async (): Promise<void> => {
            if (!sending) return;
            if (await cluster.keepAlive(id)) lastAcknowledged = cluster.time.now;
            cluster.time.setTimeout(() => void sendLoop(), interval);
          };
          await sendLoop();
          for (const failover of failovers) {
            await cluster.time.advanceTo(cluster.time.now + failover.after);
            expect(cluster.keyExists()).toBe(true);
            const crashed = cluster.leader as number;
            cluster.crashLeader();
            await cluster.time.advanceTo(cluster.time.now + failover.outage);
            expect(cluster.keyExists()).toBe(true);
            // Restart the crashed member as a follower; a member elected may be any live one.
            const candidates = [0, 1, 2].filter((member) => member !== crashed);
            cluster.elect(candidates[failover.next % candidates.length] as number);
            lastElected = cluster.time.now;
            cluster.holderFindsLeaderAt = cluster.time.now + failover.discovery;
            cluster.alive[crashed] = true;
          }
          await cluster.time.advanceTo(cluster.time.now + tail);
          expect(cluster.keyExists()).toBe(true);
          sending = false;
          const stoppedAt = cluster.time.now;
          const last = Math.max(lastAcknowledged, stoppedAt - interval);
          await cluster.time.advanceTo(
            Math.max(stoppedAt, lastElected) +
              ttlSeconds * 1000 +
              ELECTION_TIMEOUT_MS +
              2 * LEASE_TICK_MS,
          );
          expect(cluster.keyExists()).toBe(false);
          const revoke = cluster.revokes.find((entry) => entry.leading);
          expect(revoke).toBeDefined();
          expect((revoke?.at ?? Infinity) - Math.max(last, lastElected)).toBeLessThanOrEqual(
            ttlSeconds * 1000 + ELECTION_TIMEOUT_MS + 2 * LEASE_TICK_MS,
          );
          // Only a leader proposed revokes.
          expect(cluster.revokes.every((entry) => entry.leading)).toBe(true);
          for (const driver of cluster.drivers) driver.stop();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a follower never expires a lease, however long it waits without a leader', async () => {
    const cluster = new Cluster();
    cluster.append({ type: 'lease', request: { op: 'grant', id: '7', ttlSeconds: 2 } });
    cluster.append({
      type: 'put',
      request: { key: 'held', value: 'v', prevKv: false, lease: '7' },
    });
    cluster.crashLeader();
    await cluster.time.advanceTo(60_000);
    expect(cluster.revokes).toEqual([]);
    expect(cluster.keyExists()).toBe(true);
    // A leader elected afterwards gives the lease its TTL plus an election timeout from then.
    cluster.elect(1);
    await cluster.time.advanceTo(60_000 + 2000 + ELECTION_TIMEOUT_MS - LEASE_TICK_MS);
    expect(cluster.keyExists()).toBe(true);
    await cluster.time.advanceTo(60_000 + 2000 + ELECTION_TIMEOUT_MS + LEASE_TICK_MS);
    expect(cluster.keyExists()).toBe(false);
    for (const driver of cluster.drivers) driver.stop();
  });
});
