import { exponentialLatency, type LatencyDistribution } from './latency.js';
import type { Transport } from './ports.js';
import type { ProcessGate } from './process-gate.js';
import type { Simulation } from './simulation.js';

/** The conditions of one directed link. */
export interface LinkConditions {
  /** Latency of each message. Default: 1 ms plus an exponential tail with mean 2 ms. */
  latency: LatencyDistribution;
  /** Probability that a message is dropped. Default 0. */
  lossRate: number;
  /** Probability that a message is delivered twice (the copy arrives later on the same link). Default 0. */
  duplicateRate: number;
  /** Probability, per message sent, that the connection resets first, dropping all in flight. Default 0. */
  resetRate: number;
  /** Messages in flight on the link beyond this are dropped, like a full send queue. Default 10,000. */
  maxInFlight: number;
}

/** Counters of what the network did, for reports and "sometimes" checks. */
export interface NetworkStatistics {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  resets: number;
}

/** A message offered to a {@link MessageFilter}. */
export interface InFlightMessage {
  readonly from: string;
  readonly to: string;
  readonly type: number;
  /** The sender's bytes; do not modify. */
  readonly payload: Uint8Array;
}

/** Decides at send time whether a message enters the network: return false to drop it. */
export type MessageFilter = (message: InFlightMessage) => boolean;

/** Receives one inbound message; the handler owns `payload`. */
export type MessageHandler = (from: string, type: number, payload: Uint8Array) => void;

interface Connection {
  epoch: number;
  lastDeliveryTime: number;
  inFlight: number;
  readonly label: string;
}

interface Member {
  readonly index: number;
  gate: ProcessGate | undefined;
  handler: MessageHandler | undefined;
  endpoint: SimulatedEndpoint | undefined;
}

const defaultConditions: LinkConditions = {
  latency: exponentialLatency(1, 2),
  lossRate: 0,
  duplicateRate: 0,
  resetRate: 0,
  maxInFlight: 10_000,
};

/**
 * One process's view of the network: the Transport port. It belongs to one incarnation; after a
 * crash it goes silent (sends are ignored, nothing is delivered to its handler).
 */
export class SimulatedEndpoint implements Transport {
  /** Created by {@link SimulatedNetwork.connect}. */
  constructor(
    private readonly network: SimulatedNetwork,
    /** The name of the process this endpoint belongs to. */
    readonly name: string,
    private readonly incarnation: number,
    private readonly gate: ProcessGate | undefined,
  ) {}

  /** Sends a message; silently dropped when the peer is unreachable. Throws RangeError for a bad `type`. */
  send(to: string, type: number, payload: Uint8Array): void {
    if (!Number.isInteger(type) || type < 0 || type > 0xffff) {
      throw new RangeError(`message type ${type} is not an unsigned 16-bit integer`);
    }
    if (this.gate !== undefined && !this.gate.isCurrent(this.incarnation)) return;
    this.network.transmit(this.name, to, type, payload);
  }

  /** Sets the single handler for inbound messages (a later call replaces it). */
  onMessage(handler: MessageHandler): void {
    this.network.setHandler(this.name, this, handler);
  }
}

/**
 * A simulated network between named processes implementing the Transport port per process.
 *
 * Each directed pair is one connection: messages on it arrive in the order sent (FIFO), while
 * different connections reorder freely because each message draws its own latency. Links can
 * lose, duplicate and reset; partitions block pairs in one or both directions. Payloads are copied
 * on send and on every delivery, so neither side can see the other's later changes.
 */
export class SimulatedNetwork {
  private readonly members = new Map<string, Member>();
  private readonly names: string[] = [];
  private blocked = new Set<number>();
  private readonly connections = new Map<number, Connection>();
  private readonly linkConditions = new Map<number, LinkConditions>();
  private defaults: LinkConditions;
  private filters: MessageFilter[] = [];
  private readonly random;
  private readonly statistics: NetworkStatistics = {
    sent: 0,
    delivered: 0,
    dropped: 0,
    duplicated: 0,
    resets: 0,
  };

  /** A network with no processes yet; `conditions` override the defaults of every link. */
  constructor(
    private readonly simulation: Simulation,
    conditions: Partial<LinkConditions> = {},
  ) {
    this.defaults = { ...defaultConditions, ...conditions };
    this.random = simulation.random.stream('network');
  }

  /** What the network did so far. */
  get stats(): Readonly<NetworkStatistics> {
    return this.statistics;
  }

  /** Names of all registered processes, in registration order. */
  get nodeNames(): readonly string[] {
    return this.names;
  }

  /** Registers a process name (idempotent). Partitions refer to registered names. */
  addNode(name: string): void {
    if (this.members.has(name)) return;
    if (this.names.length >= 4096) throw new RangeError('at most 4096 processes');
    this.members.set(name, {
      index: this.names.length,
      gate: undefined,
      handler: undefined,
      endpoint: undefined,
    });
    this.names.push(name);
  }

  /**
   * The Transport for the current incarnation of process `name` (registering the name if new).
   * Deliveries pass through `gate` when given; an earlier endpoint of the name stops receiving.
   */
  connect(name: string, gate?: ProcessGate): SimulatedEndpoint {
    this.addNode(name);
    const member = this.member(name);
    member.endpoint = new SimulatedEndpoint(this, name, gate?.incarnation ?? 0, gate);
    member.gate = gate;
    member.handler = undefined;
    return member.endpoint;
  }

  /** Changes the defaults for every link without its own conditions. */
  setDefaultConditions(conditions: Partial<LinkConditions>): void {
    this.defaults = { ...this.defaults, ...conditions };
  }

  /** Overrides conditions of the directed link `from` → `to` (pass both directions for a symmetric change). */
  setLink(from: string, to: string, conditions: Partial<LinkConditions>): void {
    const key = this.pairKey(from, to);
    this.linkConditions.set(key, {
      ...(this.linkConditions.get(key) ?? this.defaults),
      ...conditions,
    });
  }

  /**
   * Adds a filter consulted for every message sent (after partitions, before loss): scenario tests
   * use it to drop exactly the messages they target, e.g. every heartbeat to `cyrene`.
   * @returns a function that removes the filter.
   */
  addFilter(filter: MessageFilter): () => void {
    this.filters.push(filter);
    return () => {
      this.filters = this.filters.filter((candidate) => candidate !== filter);
    };
  }

  /** Removes every per-link override. */
  clearLinkOverrides(): void {
    this.linkConditions.clear();
  }

  /** Whether a message from `from` to `to` would currently pass the partition rules. */
  canReach(from: string, to: string): boolean {
    return !this.blocked.has(this.pairKey(from, to));
  }

  /**
   * Splits the processes into groups that cannot reach each other (both directions); processes
   * in no listed group form one more group. Replaces any earlier partition.
   * Example: `partition(['athens'])` isolates athens; `partition(['athens', 'byzantium'])` cuts a
   * minority of two off a five-node cluster.
   */
  partition(...groups: readonly (readonly string[])[]): void {
    const groupOf = new Map<string, number>();
    groups.forEach((group, index) => {
      for (const name of group) groupOf.set(name, index);
    });
    this.heal();
    for (const from of this.names) {
      for (const to of this.names) {
        if ((groupOf.get(from) ?? -1) !== (groupOf.get(to) ?? -1)) this.blockPair(from, to);
      }
    }
  }

  /** Cuts one process off from all others, both directions. Replaces any earlier partition. */
  isolate(name: string): void {
    this.partition([name]);
  }

  /** Blocks messages from `from` to `to` only (the reverse still flows). Adds to the current rules. */
  blockOneWay(from: string, to: string): void {
    this.blockPair(from, to);
  }

  /**
   * Two sides that cannot reach each other, and one bridge process that reaches both (the classic
   * "bridge" partition: the bridge sees a majority on either side). Without sides, the other
   * processes are split in two halves in registration order. Replaces any earlier partition.
   */
  bridge(bridgeNode: string, sideA?: readonly string[], sideB?: readonly string[]): void {
    const others = this.names.filter((name) => name !== bridgeNode);
    const half = Math.ceil(others.length / 2);
    const left = new Set(sideA ?? others.slice(0, half));
    const right = new Set(sideB ?? others.filter((name) => !left.has(name)));
    this.heal();
    for (const a of left) {
      for (const b of right) {
        this.blockPair(a, b);
        this.blockPair(b, a);
      }
    }
  }

  /**
   * Each process reaches only its two neighbours in `order` (default: registration order),
   * so every process sees a different majority. Replaces any earlier partition.
   */
  ring(order: readonly string[] = this.names): void {
    this.heal();
    const count = order.length;
    for (let i = 0; i < count; i++) {
      const from = order[i] as string;
      for (let j = 0; j < count; j++) {
        const distance = Math.min((i - j + count) % count, (j - i + count) % count);
        if (distance > 1) this.blockPair(from, order[j] as string);
      }
    }
  }

  /** Removes every partition rule. */
  heal(): void {
    this.blocked = new Set();
  }

  /** Resets the connections between `a` and `b` in both directions: everything in flight is lost. */
  resetConnection(a: string, b: string): void {
    this.reset(this.connection(a, b));
    this.reset(this.connection(b, a));
  }

  /** Delivers a message from `from` (used by endpoints; call it to inject traffic from outside). */
  transmit(from: string, to: string, type: number, payload: Uint8Array): void {
    this.statistics.sent++;
    this.simulation.noteActivity();
    const target = this.members.get(to);
    if (target === undefined || !this.members.has(from)) return this.drop();
    const key = this.pairKey(from, to);
    if (this.blocked.has(key)) return this.drop();
    for (const filter of this.filters) {
      if (!filter({ from, to, type, payload })) return this.drop();
    }
    const link = this.linkConditions.get(key) ?? this.defaults;
    const connection = this.connection(from, to);
    if (link.resetRate > 0 && this.random.chance(link.resetRate)) this.reset(connection);
    if (link.lossRate > 0 && this.random.chance(link.lossRate)) return this.drop();
    if (target.gate !== undefined && !target.gate.alive) return this.drop();
    const copies = link.duplicateRate > 0 && this.random.chance(link.duplicateRate) ? 2 : 1;
    const sent = payload.slice();
    for (let copy = 0; copy < copies; copy++) {
      if (connection.inFlight >= link.maxInFlight) return this.drop();
      const arrival = Math.max(
        this.simulation.now + Math.max(0, link.latency(this.random)),
        connection.lastDeliveryTime,
      );
      connection.lastDeliveryTime = arrival;
      connection.inFlight++;
      if (copy > 0) this.statistics.duplicated++;
      this.scheduleDelivery(
        connection,
        key,
        from,
        target,
        type,
        copy === 0 ? sent : sent.slice(),
        arrival,
      );
    }
  }

  /** @internal Called by an endpoint's onMessage. */
  setHandler(name: string, endpoint: SimulatedEndpoint, handler: MessageHandler): void {
    const member = this.member(name);
    if (member.endpoint === endpoint) member.handler = handler;
  }

  private scheduleDelivery(
    connection: Connection,
    key: number,
    from: string,
    target: Member,
    type: number,
    bytes: Uint8Array,
    arrival: number,
  ): void {
    const epoch = connection.epoch;
    const handOver = (): void => {
      const handler = target.handler;
      if (handler === undefined) return this.drop();
      this.statistics.delivered++;
      const trace = this.simulation.trace;
      trace.addNumber(type);
      trace.addBytes(bytes);
      handler(from, type, bytes);
    };
    const gate = target.gate;
    // The gate holds the hand-over while the target is paused and drops it after a crash.
    const guarded = gate === undefined ? handOver : gate.guard(handOver);
    this.simulation.scheduleAt(arrival, connection.label, () => {
      connection.inFlight--;
      if (connection.epoch !== epoch) return this.drop();
      if (this.blocked.has(key)) {
        // A cut link breaks the connection: TCP loses everything behind the lost message too.
        this.reset(connection);
        return this.drop();
      }
      guarded();
    });
  }

  private drop(): void {
    this.statistics.dropped++;
  }

  private reset(connection: Connection): void {
    connection.epoch++;
    connection.lastDeliveryTime = this.simulation.now;
    this.statistics.resets++;
  }

  private member(name: string): Member {
    const member = this.members.get(name);
    if (member === undefined) throw new RangeError(`unknown process ${JSON.stringify(name)}`);
    return member;
  }

  private pairKey(from: string, to: string): number {
    return this.member(from).index * 4096 + this.member(to).index;
  }

  private blockPair(from: string, to: string): void {
    if (from !== to) this.blocked.add(this.pairKey(from, to));
  }

  private connection(from: string, to: string): Connection {
    const key = this.pairKey(from, to);
    let connection = this.connections.get(key);
    if (connection === undefined) {
      connection = { epoch: 0, lastDeliveryTime: 0, inFlight: 0, label: `message ${from}>${to}` };
      this.connections.set(key, connection);
    }
    return connection;
  }
}
