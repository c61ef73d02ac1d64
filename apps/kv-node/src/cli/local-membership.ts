/**
 * Membership changes of a running local cluster (`kv-node cluster`), for `kv-node cluster add |
 * remove | replace` and the dashboard's buttons: the launcher follows the runbooks of
 * docs/guides/operations.md through the member API, as an operator would, and starts or stops
 * the member processes. One change at a time; the others are refused while one runs.
 *
 * The launcher has no credentials: each change carries the caller's `Authorization`, so with
 * client auth on the member API refuses it unless the caller is an admin.
 */

import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { hexIdOf } from '../config/member-id.js';
import type { LocalMemberPlan, LocalMemberSlot } from './local-cluster-plan.js';
import {
  MAX_LOCAL_MEMBER_SLOTS,
  localMemberArgs,
  localMemberSlot,
  localMemberSlotIndex,
} from './local-cluster-plan.js';
import type { LocalClusterState } from './local-cluster-state.js';
import type { LocalPeerProxy } from './local-peer-proxy.js';
import type { ApiMember } from './member-api-client.js';
import { MemberApiClient, MemberApiError } from './member-api-client.js';

/** The member processes, as the launcher runs them. */
export interface LocalMemberProcesses {
  /** Starts the member's process (creating its data directory). */
  start(member: LocalMemberPlan): void;
  isRunning(name: string): boolean;
  /** The member is about to exit on its own (removed): its exit is no failure to report. */
  expectExit(name: string): void;
  /** Resolves with whether the member's process exited within `timeoutMs`. */
  waitForExit(name: string, timeoutMs: number): Promise<boolean>;
  /** Stops the member's process (SIGTERM, then SIGKILL) and forgets it. */
  stop(name: string): Promise<void>;
}

/** Options of {@link LocalMembership}. */
export interface LocalMembershipOptions {
  /** The members and slots as the launcher started them. */
  state: LocalClusterState;
  /** Client port of slot 0 (`--base-port`); slot i uses base + 10i, +1, +2. */
  basePort: number;
  dataDir: string;
  /** Flags every member gets after the cluster flags (log level, replication, ...). */
  extraArgs: readonly string[];
  proxy: LocalPeerProxy;
  processes: LocalMemberProcesses;
  /** Called after every change with the new state (to persist it and show it). */
  changed(state: LocalClusterState): void;
  /** Where progress is reported (the launcher's terminal). */
  out: { write(text: string): unknown };
  /**
   * Why this cluster's members cannot change, if they cannot (a quorum-mode cluster's members
   * are fixed by `--initial-cluster`): every change is refused with it at once.
   */
  refuseChanges?: string;
  /** Longest wait for a learner to catch up before its promotion, ms (default 120000). */
  promoteTimeoutMs?: number;
}

/** How the caller of a change authenticates (its `Authorization` header, passed through). */
export interface ChangeCredentials {
  authorization?: string;
}

/** A change cannot be made, or failed part way (the message says how far it got). */
export class LocalMembershipError extends Error {
  override readonly name = 'LocalMembershipError';
}

const CHANGE_TIMEOUT_MS = 30_000;
/** How long a removed member has to notice its removal and stop by itself. */
const REMOVED_EXIT_TIMEOUT_MS = 15_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Whether nothing listens on `port` of 127.0.0.1 now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** See the file comment. */
export class LocalMembership {
  readonly #options: LocalMembershipOptions;
  #state: LocalClusterState;
  #running: string | undefined;

  /** @param options see {@link LocalMembershipOptions}. */
  constructor(options: LocalMembershipOptions) {
    this.#options = options;
    this.#state = { ...options.state, members: [...options.state.members] };
  }

  /** The members now in the cluster. */
  get members(): readonly LocalMemberPlan[] {
    return this.#state.members;
  }

  /**
   * Adds a member in the lowest free slot: the proxy listens on its peer port, the member API adds
   * it as a learner, it starts with an empty data directory and `--initial-cluster-state
   * existing`, and it is promoted once it has caught up.
   * @returns what was done, for the caller to show.
   * @throws LocalMembershipError (or the member API's refusal) if it cannot be done.
   */
  add(credentials: ChangeCredentials = {}): Promise<string> {
    return this.#exclusive('add a member', () => this.#add(credentials));
  }

  /**
   * Removes member `name` through the member API, waits until its process stops (a removed
   * member stops by itself), and deletes its data directory: it can never rejoin under it.
   */
  remove(name: string, credentials: ChangeCredentials = {}): Promise<string> {
    return this.#exclusive(`remove ${name}`, () => this.#remove(name, credentials));
  }

  /**
   * Replaces member `name` as the runbook replaces a member whose disk died: removes it, deletes
   * its data, and adds a new member under the same name, ports and peer URL (a new member to the
   * cluster, with a fresh member id) with a new, empty data directory, which catches up (by
   * snapshot when the log no longer reaches back) and is promoted.
   */
  replace(name: string, credentials: ChangeCredentials = {}): Promise<string> {
    return this.#exclusive(`replace ${name}`, async () => {
      const removed = await this.#remove(name, credentials);
      const added = await this.#add(credentials, localMemberSlotIndex(name));
      return `${removed}; ${added}`;
    });
  }

  async #exclusive(what: string, change: () => Promise<string>): Promise<string> {
    const refusal = this.#options.refuseChanges;
    if (refusal !== undefined) throw new LocalMembershipError(`cannot ${what}: ${refusal}`);
    if (this.#running !== undefined) {
      throw new LocalMembershipError(
        `cannot ${what}: "${this.#running}" is still running (one membership change at a time)`,
      );
    }
    this.#running = what;
    try {
      return await change();
    } finally {
      this.#running = undefined;
    }
  }

  #client(credentials: ChangeCredentials, except?: string): MemberApiClient {
    const { processes } = this.#options;
    return new MemberApiClient({
      endpoints: () =>
        this.#state.members
          .filter((member) => member.name !== except && processes.isRunning(member.name))
          .map((member) => member.clientUrl),
      ...(credentials.authorization === undefined
        ? {}
        : { authorization: credentials.authorization }),
    });
  }

  #say(text: string): void {
    this.#options.out.write(`\n${text}\n`);
  }

  #commit(state: LocalClusterState): void {
    this.#state = state;
    this.#options.changed({ ...state, members: [...state.members] });
  }

  /** The lowest slot no member holds (`preferred` if free), or -1 when all are held. */
  #freeSlot(preferred: number | undefined): number {
    const held = new Set(this.#state.members.map((member) => localMemberSlotIndex(member.name)));
    if (preferred !== undefined && preferred >= 0 && !held.has(preferred)) return preferred;
    for (let index = 0; index < MAX_LOCAL_MEMBER_SLOTS; index++) {
      if (!held.has(index)) return index;
    }
    return -1;
  }

  async #add(credentials: ChangeCredentials, preferredSlot?: number): Promise<string> {
    const options = this.#options;
    const slotIndex = this.#freeSlot(preferredSlot);
    if (slotIndex < 0) {
      throw new LocalMembershipError(
        `this local cluster has ${MAX_LOCAL_MEMBER_SLOTS} members, as many as a local cluster ` +
          'may have at once; remove one first',
      );
    }
    const slot = localMemberSlot(slotIndex, options.basePort, options.dataDir);
    if (existsSync(slot.dataDir)) {
      throw new LocalMembershipError(
        `cannot add ${slot.name}: ${slot.dataDir} exists but belongs to no member of this ` +
          'cluster (left from another run?); move it away and try again',
      );
    }
    for (const url of [slot.clientUrl, slot.listenPeerUrl]) {
      if (!(await portIsFree(portOf(url)))) {
        throw new LocalMembershipError(`cannot add ${slot.name}: port ${portOf(url)} is taken`);
      }
    }
    await options.proxy.listenFor(slot);
    const client = this.#client(credentials);
    const added = await this.#addLearner(client, slot);
    options.proxy.identify(slot, added.member.id);
    const initialCluster = added.members
      .map((member) => `${member.name === '' ? slot.name : member.name}=${member.peerUrls[0]}`)
      .join(',');
    const member: LocalMemberPlan = {
      ...slot,
      args: localMemberArgs(slot, {
        initialCluster,
        dataDir: options.dataDir,
        joining: true,
        extraArgs: options.extraArgs,
      }),
    };
    // A member from here on: its peer URL belongs to the member id the cluster just gave.
    this.#commit({
      members: [...this.#state.members, member],
      addedMemberIds: { ...this.#state.addedMemberIds, [slot.name]: added.member.id },
    });
    this.#say(
      `${slot.name} added as a learner (member id ${hexIdOf(added.member.id)}); starting it`,
    );
    options.processes.start(member);
    await this.#promote(client, slot, added.member.id);
    await this.#untilNamed(client, slot, added.member.id);
    const message = `${slot.name} added: it caught up as a learner and was promoted to a voter`;
    this.#say(message);
    return message;
  }

  /** `member add` as a learner; an answer lost on the way (retried) is found in the list. */
  async #addLearner(
    client: MemberApiClient,
    slot: LocalMemberSlot,
  ): Promise<{ member: ApiMember; members: readonly ApiMember[]; clusterId: string }> {
    let answer;
    try {
      answer = await client.call(
        'add',
        { peerURLs: [slot.peerUrl], isLearner: true },
        CHANGE_TIMEOUT_MS,
      );
    } catch (error) {
      if (!(error instanceof MemberApiError) || !/already exist/i.test(error.message)) throw error;
      // A retry after an answer that never came: the first attempt added it.
      answer = await client.call('list', {}, CHANGE_TIMEOUT_MS);
    }
    const member =
      answer.member ?? answer.members.find((listed) => listed.peerUrls.includes(slot.peerUrl));
    if (member === undefined || answer.clusterId === '') {
      throw new LocalMembershipError(`member add answered without ${slot.peerUrl}`);
    }
    return { member, members: answer.members, clusterId: answer.clusterId };
  }

  /**
   * Waits until the member list names the new member: it publishes its name itself once it
   * runs, which may come after its promotion; "added" means listed as the cluster will show it.
   */
  async #untilNamed(client: MemberApiClient, slot: LocalMemberSlot, id: string): Promise<void> {
    const deadline = performance.now() + CHANGE_TIMEOUT_MS;
    while (performance.now() < deadline) {
      const listed = await client.call('list', {}, 5000).catch(() => undefined);
      if (listed?.members.some((member) => member.id === id && member.name === slot.name)) return;
      await sleep(200);
    }
    throw new LocalMembershipError(
      `${slot.name} was promoted but has not published its name within ` +
        `${CHANGE_TIMEOUT_MS / 1000} s; see its log`,
    );
  }

  async #promote(client: MemberApiClient, slot: LocalMemberSlot, id: string): Promise<void> {
    const timeoutMs = this.#options.promoteTimeoutMs ?? 120_000;
    const deadline = performance.now() + timeoutMs;
    let last = '';
    while (performance.now() < deadline) {
      try {
        await client.call('promote', { ID: id }, 5000);
        return;
      } catch (error) {
        const message = (error as Error).message;
        // Promoted by an attempt whose answer was lost.
        if (/not a learner|only promote a learner member$/.test(message)) return;
        // "can only promote a learner member which is in sync with leader": not caught up yet.
        if (!/in sync|timed out|unhealthy|leader/.test(message)) throw error;
        last = message;
      }
      await sleep(300);
    }
    throw new LocalMembershipError(
      `${slot.name} runs as a learner but was not promoted within ${timeoutMs / 1000} s ` +
        `(${last}); promote it with the member API once it has caught up`,
    );
  }

  async #remove(name: string, credentials: ChangeCredentials): Promise<string> {
    const { processes } = this.#options;
    const member = this.#state.members.find((candidate) => candidate.name === name);
    if (member === undefined) {
      throw new LocalMembershipError(
        `no member ${name} (members: ${this.#state.members.map((each) => each.name).join(', ')})`,
      );
    }
    const client = this.#client(credentials, name);
    const listed = (await client.call('list', {}, CHANGE_TIMEOUT_MS)).members.find((candidate) =>
      candidate.peerUrls.includes(member.peerUrl),
    );
    if (listed !== undefined) {
      processes.expectExit(name);
      try {
        await client.call('remove', { ID: listed.id }, CHANGE_TIMEOUT_MS);
      } catch (error) {
        // Removed by an attempt whose answer was lost.
        if (!/member not found/.test((error as Error).message)) throw error;
      }
    }
    let how = 'it was not running';
    if (processes.isRunning(name)) {
      how = 'it stopped by itself';
      if (!(await processes.waitForExit(name, REMOVED_EXIT_TIMEOUT_MS))) {
        how = `it still ran ${REMOVED_EXIT_TIMEOUT_MS / 1000} s after its removal and was stopped`;
        await processes.stop(name);
      }
    }
    const { [name]: _removedId, ...addedMemberIds } = this.#state.addedMemberIds;
    this.#commit({
      members: this.#state.members.filter((candidate) => candidate.name !== name),
      addedMemberIds,
    });
    // Never to be started again: a removed member's data would be refused. Its slot (name and
    // ports) is free for the next member added.
    rmSync(member.dataDir, { recursive: true, force: true });
    const message = `${name} removed (${how}; its data directory was deleted)`;
    this.#say(message);
    return message;
  }
}
