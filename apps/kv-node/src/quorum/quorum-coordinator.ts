/**
 * Coordinates a client request on any member: writes and reads of single keys and key ranges at
 * the request's consistency level, over `@x/quorum`'s quorum calls, versioned values and read
 * repair. Every write is versioned by this member's hybrid clock, ties broken by member name.
 *
 * Errors: {@link QuorumUnavailableError} when the quorum is impossible before anything was sent
 * (definite), {@link QuorumOutcomeUnknownError} when a write failed after it was sent (it may be
 * on some members and be read later: leaderless quorums have no rollback).
 */

import type { HybridClock } from '@x/clocks';
import {
  QuorumFailedError,
  pickNewest,
  quorumCall,
  quorumRead,
  quorumWrite,
  validateQuorumSizes,
} from '@x/quorum';
import type { Timers } from '@x/quorum';
import type { ByteString } from '../store/byte-string.js';
import type { ConsistencyLevel } from './consistency-level.js';
import type { QuorumReplicaClient } from './replica-client.js';
import type { StoredEntry } from './quorum-replica-store.js';
import type { StoredValue, ValueVersion } from './value-version.js';
import { compareValueVersions } from './value-version.js';

/** The request definitely did nothing: too few members are reachable for its quorum. */
export class QuorumUnavailableError extends Error {
  /**
   * @param operation what was asked
   * @param required members needed
   * @param available members reachable (not suspected)
   */
  constructor(
    readonly operation: string,
    readonly required: number,
    readonly available: readonly string[],
  ) {
    super(
      `${operation} needs ${required} members, only ${available.length} reachable ` +
        `(${available.join(', ')}); nothing was written`,
    );
    this.name = 'QuorumUnavailableError';
  }
}

/** A write failed after it was sent: it may be stored on some members and be read later. */
export class QuorumOutcomeUnknownError extends Error {
  /** @param cause the quorum failure. */
  constructor(override readonly cause: QuorumFailedError) {
    super(`${cause.message}; the write may be stored on some members and may be read later`);
    this.name = 'QuorumOutcomeUnknownError';
  }
}

/** The quorum sizes asked for do not overlap (R + W <= N, or 2W <= N). */
export class QuorumSizesRefusedError extends Error {
  /** @param message why. */
  constructor(message: string) {
    super(message);
    this.name = 'QuorumSizesRefusedError';
  }
}

/** What the coordinator needs. */
export interface QuorumCoordinatorOptions {
  readonly self: string;
  readonly members: readonly string[];
  readonly replicas: QuorumReplicaClient;
  readonly clock: HybridClock;
  readonly timers: Timers;
  readonly readQuorum: number;
  readonly writeQuorum: number;
  /** Time limit of each quorum phase, in milliseconds. */
  readonly timeoutMs: number;
  /** Called with the members a read found stale (read repair). */
  readonly onStale?: (members: readonly string[]) => void;
}

/** A range read's result. */
export interface RangeRead {
  /** Live keys (tombstones left out), in key order. */
  readonly entries: StoredEntry[];
  /** Whether keys beyond the limit may exist. */
  readonly more: boolean;
}

/** Coordinates requests. */
export class QuorumCoordinator {
  readonly #options: QuorumCoordinatorOptions;

  /** @param options members, replicas, clock and quorum sizes. */
  constructor(options: QuorumCoordinatorOptions) {
    this.#options = options;
  }

  /** The R and W of `level`. @throws QuorumSizesRefusedError when they do not overlap. */
  quorumsOf(level: ConsistencyLevel): { read: number; write: number } {
    if (level === 'one') return { read: 1, write: 1 };
    const { readQuorum, writeQuorum, members } = this.#options;
    try {
      validateQuorumSizes({ clusterSize: members.length, readQuorum, writeQuorum });
    } catch (error) {
      throw new QuorumSizesRefusedError(
        `${(error as Error).message}; consistency ${level} refused (ask for consistency=one to accept stale reads)`,
      );
    }
    return { read: readQuorum, write: writeQuorum };
  }

  /**
   * Writes `value` (`null`: a tombstone) to `key`.
   *
   * @returns the version written.
   */
  async write(
    key: ByteString,
    value: ByteString | null,
    level: ConsistencyLevel,
  ): Promise<ValueVersion> {
    const quorums = this.quorumsOf(level);
    this.#checkAvailable('write', quorums.write);
    if (level === 'linearizable') {
      this.#checkAvailable('write', quorums.read);
      // ABD phase 1: learn the highest timestamp of a read quorum (the read witnesses it, so the
      // clock's next tick is above it).
      await this.#read(key, quorums.read, 'none', quorums.write);
    }
    const version: ValueVersion = {
      timestamp: this.#options.clock.tick(),
      writer: this.#options.self,
    };
    const { members, replicas, timers, timeoutMs } = this.#options;
    try {
      await quorumWrite({
        nodes: members,
        replicas,
        key,
        value: { value, version },
        writeQuorum: quorums.write,
        timeoutMs,
        timers,
      });
    } catch (error) {
      if (error instanceof QuorumFailedError) throw new QuorumOutcomeUnknownError(error);
      throw error;
    }
    return version;
  }

  /** Reads `key`: its newest stored value (a tombstone included), or `undefined`. */
  async read(key: ByteString, level: ConsistencyLevel): Promise<StoredValue | undefined> {
    const quorums = this.quorumsOf(level);
    this.#checkAvailable('read', quorums.read);
    const mode = level === 'one' ? 'none' : level === 'quorum' ? 'async' : 'sync';
    if (mode === 'sync') this.#checkAvailable('read', quorums.write);
    return this.#read(key, quorums.read, mode, quorums.write);
  }

  /** Reads the live keys of `[start, end)`, at most `limit` (0: all). */
  async range(
    start: ByteString,
    end: ByteString | undefined,
    limit: number,
    level: ConsistencyLevel,
  ): Promise<RangeRead> {
    const quorums = this.quorumsOf(level);
    this.#checkAvailable('read', quorums.read);
    const entries: StoredEntry[] = [];
    let from = start;
    // Page by page: tombstones take room in a replica's page but are not returned.
    for (;;) {
      const page = await this.#rangePage(from, end, limit, level, quorums);
      entries.push(...page.entries);
      if (limit > 0 && entries.length >= limit) {
        return {
          entries: entries.slice(0, limit),
          more: entries.length > limit || page.knownThrough !== undefined,
        };
      }
      if (page.knownThrough === undefined) return { entries, more: false };
      // The smallest key after knownThrough.
      from = `${page.knownThrough}\u0000`;
    }
  }

  /**
   * One page of a range read: the merged newest values of keys up to `knownThrough` (the last key
   * every replica that filled its page returned; `undefined` when no page was full, so the whole
   * range is known).
   */
  async #rangePage(
    start: ByteString,
    end: ByteString | undefined,
    limit: number,
    level: ConsistencyLevel,
    quorums: { read: number; write: number },
  ): Promise<{ entries: StoredEntry[]; knownThrough: ByteString | undefined }> {
    const { members, replicas, timers, timeoutMs } = this.#options;
    const report = await quorumCall<StoredEntry[]>({
      operation: 'range read',
      nodes: members,
      call: (node) => replicas.range(node, start, end, limit),
      quorum: quorums.read,
      timeoutMs,
      timers,
    });
    // A replica that returned a full page may hold more: beyond its last key only what every
    // replica with a full page returned is known.
    let knownThrough: ByteString | undefined;
    for (const { response } of report.accepted) {
      if (limit > 0 && response.length >= limit) {
        const last = response[response.length - 1]?.key as ByteString;
        if (knownThrough === undefined || last < knownThrough) knownThrough = last;
      }
    }
    const byKey = new Map<ByteString, { node: string; response: StoredValue | undefined }[]>();
    for (const { node, response } of report.accepted) {
      for (const { key, stored } of response) {
        if (knownThrough !== undefined && key > knownThrough) continue;
        let replies = byKey.get(key);
        if (replies === undefined) byKey.set(key, (replies = []));
        replies.push({ node, response: stored });
      }
    }
    const entries: StoredEntry[] = [];
    const repairs: Promise<unknown>[] = [];
    for (const key of [...byKey.keys()].sort()) {
      const replies = byKey.get(key) as { node: string; response: StoredValue | undefined }[];
      const answered = new Set(replies.map(({ node }) => node));
      for (const { node } of report.accepted) {
        if (!answered.has(node)) replies.push({ node, response: undefined });
      }
      const { newest, staleNodes, freshNodes } = pickNewest(replies, compareValueVersions);
      if (newest === undefined) continue;
      if (staleNodes.length > 0) {
        this.#options.onStale?.(staleNodes);
        if (level === 'linearizable') {
          repairs.push(this.#repairWrite(key, newest, quorums.write, freshNodes));
        } else if (level === 'quorum') {
          this.#repairWrite(key, newest, 0, freshNodes).catch(() => undefined);
        }
      }
      if (newest.value !== null) entries.push({ key, stored: newest });
    }
    await Promise.all(repairs);
    return { entries, knownThrough };
  }

  /**
   * Writes the newest value back to every member that is not known to hold it, and resolves once
   * `writeQuorum` members hold it (`fresh` already do); the other writes go on in the background.
   */
  async #repairWrite(
    key: ByteString,
    newest: StoredValue,
    writeQuorum: number,
    fresh: readonly string[],
  ): Promise<void> {
    const { members, replicas, timers, timeoutMs } = this.#options;
    const stale = members.filter((member) => !fresh.includes(member));
    const needed = writeQuorum - fresh.length;
    if (needed <= 0) {
      for (const node of stale) replicas.write(node, key, newest).catch(() => undefined);
      return;
    }
    await quorumCall<void>({
      operation: 'read repair',
      nodes: stale,
      call: (node) => replicas.write(node, key, newest),
      quorum: needed,
      timeoutMs,
      timers,
    });
  }

  async #read(
    key: ByteString,
    readQuorum: number,
    readRepair: 'none' | 'async' | 'sync',
    writeQuorum: number,
  ): Promise<StoredValue | undefined> {
    const { members, replicas, timers, timeoutMs } = this.#options;
    const result = await quorumRead({
      nodes: members,
      replicas,
      key,
      readRepair,
      readQuorum,
      writeQuorum,
      compareVersions: compareValueVersions,
      timeoutMs,
      timers,
    });
    if (result.staleNodes.length > 0) this.#options.onStale?.(result.staleNodes);
    return result.value;
  }

  /** Fails at once, before anything is sent, when fewer than `required` members are reachable. */
  #checkAvailable(operation: string, required: number): void {
    const available = this.#options.members.filter((member) =>
      this.#options.replicas.isAvailable(member),
    );
    if (available.length < required)
      throw new QuorumUnavailableError(operation, required, available);
  }
}
