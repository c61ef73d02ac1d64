import { HybridClock, compareHybrid, type HybridTimestamp } from '@x/clocks';
import { quorumRead, quorumWrite, type ReplicaClient, type Versioned } from '@x/quorum';
import type { NodePorts } from '@x/simulation';

/** A value's version: the coordinator's hybrid timestamp, ties broken by its name. */
export interface Stamp {
  readonly at: HybridTimestamp;
  readonly by: string;
}

/** Orders two stamps as every member does (an absent one is oldest). */
export function compareStamps(a: Stamp | undefined, b: Stamp | undefined): number {
  if (a === undefined || b === undefined)
    return (a === undefined ? 0 : 1) - (b === undefined ? 0 : 1);
  return compareHybrid(a.at, b.at) || (a.by < b.by ? -1 : a.by > b.by ? 1 : 0);
}

/** The consistency levels of kv-node's leaderless mode (docs/guides/quorum-mode.md). */
export type Consistency = 'one' | 'quorum' | 'linearizable';

/** A message between members, JSON on the simulated network. */
type Wire =
  | { readonly kind: 'read'; readonly id: number; readonly key: string }
  | {
      readonly kind: 'write';
      readonly id: number;
      readonly key: string;
      readonly value: Versioned<string, Stamp>;
    }
  | { readonly kind: 'answer'; readonly id: number; readonly value?: Versioned<string, Stamp> };

/** What the page draws of one message. */
export interface SentMessage {
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly sentAtMs: number;
  readonly label: string;
  readonly kind: string;
  arrivedAtMs?: number;
}

/** The members' shared record of messages, for the picture (virtual time from the cluster). */
export interface MessageLog {
  readonly nowMs: () => number;
  readonly messages: SentMessage[];
  /** Writes a coordinator made to its own copy (no message travels for them). */
  readonly ownWrites: { readonly member: string; readonly atMs: number; readonly value: string }[];
}

const MESSAGE = 1;
/** How long a coordinator waits for a quorum before failing the request. */
export const QUORUM_TIMEOUT_MS = 400;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `Microservices @3` style text of a stored value, for arrows and notes. */
export function describeValue(value: Versioned<string, Stamp> | undefined): string {
  return value === undefined ? 'nothing' : value.value;
}

/**
 * One member of a leaderless cluster, as kv-node's `--replication quorum` works (in miniature:
 * one key space in memory, no write-ahead log): any member coordinates any request with
 * `@x/quorum`'s `quorumRead` / `quorumWrite`, over the simulated network, at the level the request
 * names; values are versioned by the coordinator's `@x/clocks` hybrid clock.
 */
export class LeaderlessMember {
  /** What this member stores. */
  readonly store = new Map<string, Versioned<string, Stamp>>();
  private readonly clock: HybridClock;
  private readonly waiting = new Map<
    number,
    (value: Versioned<string, Stamp> | undefined) => void
  >();
  private nextId = 1;

  constructor(
    private readonly ports: NodePorts,
    private readonly log: MessageLog,
  ) {
    this.clock = new HybridClock(ports.wallClock, { maxOffsetMs: 500 });
    ports.transport.onMessage((from, _type, payload) =>
      this.receive(from, JSON.parse(decoder.decode(payload)) as Wire),
    );
  }

  /** Puts `key = value` with this member as coordinator. */
  async put(key: string, value: string, consistency: Consistency): Promise<void> {
    let at: HybridTimestamp;
    if (consistency === 'linearizable') {
      // ABD's first phase: learn the highest version a read quorum holds, and write above it.
      const highest = await this.read(key, 'none');
      at =
        highest.value === undefined
          ? this.clock.tick()
          : this.clock.witness(highest.value.version.at);
    } else {
      at = this.clock.tick();
    }
    await quorumWrite({
      ...this.common(key),
      value: { value, version: { at, by: this.ports.name } },
      writeQuorum: consistency === 'one' ? 1 : this.majority(),
    });
  }

  /** Reads `key` with this member as coordinator; resolves with the value it answers. */
  async get(key: string, consistency: Consistency): Promise<string | undefined> {
    if (consistency === 'one') {
      // R = 1: the coordinator's own copy, no repair.
      return this.store.get(key)?.value;
    }
    const result = await this.read(key, consistency === 'linearizable' ? 'sync' : 'async');
    return result.value?.value;
  }

  private read(key: string, readRepair: 'none' | 'async' | 'sync') {
    return quorumRead({
      ...this.common(key),
      readRepair,
      readQuorum: this.majority(),
      writeQuorum: this.majority(),
      compareVersions: compareStamps,
    });
  }

  private common(key: string) {
    return {
      nodes: [this.ports.name, ...this.ports.peers],
      replicas: this.replicas,
      key,
      timeoutMs: QUORUM_TIMEOUT_MS,
      timers: this.ports.timers,
    };
  }

  private majority(): number {
    return Math.floor((this.ports.peers.length + 1) / 2) + 1;
  }

  /** Requests to members: this member's own copy directly, the others over the network. */
  private readonly replicas: ReplicaClient<string, string, Stamp> = {
    read: (node, key) =>
      node === this.ports.name
        ? Promise.resolve(this.store.get(key))
        : this.request(node, { kind: 'read', id: this.nextId++, key }, `get ${key}`, 'request'),
    write: async (node, key, value) => {
      if (node === this.ports.name) {
        this.keepNewer(key, value);
        this.log.ownWrites.push({ member: node, atMs: this.log.nowMs(), value: value.value });
        return;
      }
      await this.request(
        node,
        { kind: 'write', id: this.nextId++, key, value },
        `put ${value.value}`,
        'replicate',
      );
    },
  };

  private request(
    to: string,
    wire: Wire,
    label: string,
    kind: string,
  ): Promise<Versioned<string, Stamp> | undefined> {
    return new Promise((resolve) => {
      this.waiting.set(wire.id, resolve);
      this.send(to, wire, label, kind);
    });
  }

  private send(to: string, wire: Wire, label: string, kind: string): void {
    this.log.messages.push({
      id: this.log.messages.length,
      from: this.ports.name,
      to,
      sentAtMs: this.log.nowMs(),
      label,
      kind,
    });
    const envelope = { ...wire, trace: this.log.messages.length - 1 };
    this.ports.transport.send(to, MESSAGE, encoder.encode(JSON.stringify(envelope)));
  }

  private receive(from: string, wire: Wire & { trace?: number }): void {
    const sent = wire.trace === undefined ? undefined : this.log.messages[wire.trace];
    if (sent !== undefined) sent.arrivedAtMs = this.log.nowMs();
    switch (wire.kind) {
      case 'read': {
        const value = this.store.get(wire.key);
        this.send(
          from,
          { kind: 'answer', id: wire.id, ...(value === undefined ? {} : { value }) },
          describeValue(value),
          'reply',
        );
        return;
      }
      case 'write':
        this.keepNewer(wire.key, wire.value);
        this.send(from, { kind: 'answer', id: wire.id }, 'ok', 'reply');
        return;
      case 'answer': {
        const resolve = this.waiting.get(wire.id);
        this.waiting.delete(wire.id);
        resolve?.(wire.value);
        return;
      }
    }
  }

  private keepNewer(key: string, value: Versioned<string, Stamp>): void {
    const current = this.store.get(key);
    if (compareStamps(value.version, current?.version) > 0) this.store.set(key, value);
  }
}
