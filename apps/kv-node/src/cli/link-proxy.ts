import type { Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import type { LinkRule } from './link-rule.js';
import { passRule } from './link-rule.js';

// The proxy's vocabulary travels with it, so `@x/kv-node/link-proxy` is the whole API.
export type { LinkRule } from './link-rule.js';
export { describeRule, passRule } from './link-rule.js';

/** Uniform random numbers in [0, 1) (seeded in tests and chaos runs, for reproducible faults). */
export interface Random {
  next(): number;
}

/** Where a node really listens for its peers. */
export interface ProxyTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /**
   * Port of this node's shared listener (with `sourceMarkers`), e.g. the peer port the node
   * advertises while it really listens on `port`. Default: a free port.
   */
  readonly sharedPort?: number;
}

/** A host and port to connect to. */
export interface SocketAddress {
  readonly host: string;
  readonly port: number;
}

/** Options of {@link LinkProxy.start}. */
export interface LinkProxyOptions {
  /** Every node and its real peer address; one listener is opened per ordered pair. */
  readonly targets: readonly ProxyTarget[];
  /**
   * Whether to open the listener per ordered pair (default true). A cluster reached only
   * through shared listeners (`sourceMarkers`) does not need them.
   */
  readonly linkListeners?: boolean;
  /** Host to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Decides which chunks a `drop` rule loses and the jitter of `delay`. */
  readonly random: Random;
  /**
   * For peers that cannot be told a different address per link: byte strings (for example the
   * node's id as its handshake spells it) that identify each node in the first bytes of the
   * connections it dials. With them, one more listener per destination is opened
   * ({@link LinkProxy.sharedAddress}) that finds the dialer by searching those first bytes for
   * another node's marker, and then applies that directed link's rules. The map is read at each
   * connection, so markers that depend on the proxy's own addresses may be added after start. No
   * node's marker may contain another node's.
   */
  readonly sourceMarkers?: ReadonlyMap<string, readonly Uint8Array[]>;
  /** How many leading bytes a shared listener searches for a marker (default 4096). */
  readonly identifyBytes?: number;
}

/** Counters for results and tests. */
export interface LinkProxyStatistics {
  readonly connectionsAccepted: number;
  readonly connectionsCut: number;
  readonly bytesForwarded: number;
  readonly bytesDiscarded: number;
  /** Bytes changed by `tamper` rules (one per tampered chunk). */
  readonly bytesTampered: number;
  readonly unidentifiedConnections: number;
}

const linkKey = (from: string, to: string): string => `${from}\u0000${to}`;

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
}

/**
 * A frame-agnostic TCP proxy for the peer links of a cluster, controlled in-process. Node `from`
 * reaches node `to` through {@link LinkProxy.linkAddress}(from, to); a connection accepted there
 * carries bytes from → to under that link's rule and bytes to → from under the reverse link's
 * rule, so a partition can be one-way. See {@link LinkRule} for what each rule does.
 */
export class LinkProxy {
  private readonly rules = new Map<string, LinkRule>();
  private readonly servers: Server[] = [];
  private readonly linkAddresses = new Map<string, SocketAddress>();
  private readonly sharedAddresses = new Map<string, SocketAddress>();
  private readonly connections = new Set<ProxiedConnection>();
  private readonly targets: Map<string, ProxyTarget>;
  private closed = false;
  private counters = {
    connectionsAccepted: 0,
    connectionsCut: 0,
    bytesForwarded: 0,
    bytesDiscarded: 0,
    bytesTampered: 0,
    unidentifiedConnections: 0,
  };

  private constructor(private readonly options: LinkProxyOptions) {
    this.targets = new Map(options.targets.map((target) => [target.name, target]));
  }

  /**
   * Opens every listener (on free ports) and resolves when all are bound.
   * @throws Error if a listener cannot be bound (then every listener opened is closed).
   */
  static async start(options: LinkProxyOptions): Promise<LinkProxy> {
    const proxy = new LinkProxy(options);
    try {
      await proxy.listenAll();
    } catch (error) {
      await proxy.close();
      throw error;
    }
    return proxy;
  }

  /** The address through which `from` reaches `to`. @throws Error for an unknown link. */
  linkAddress(from: string, to: string): SocketAddress {
    const address = this.linkAddresses.get(linkKey(from, to));
    if (address === undefined) throw new Error(`no proxy link ${from} -> ${to}`);
    return address;
  }

  /**
   * The one address through which every node reaches `to`, when `sourceMarkers` were given.
   * @throws Error if there is no shared listener for `to`.
   */
  sharedAddress(to: string): SocketAddress {
    const address = this.sharedAddresses.get(to);
    if (address === undefined) throw new Error(`no shared proxy listener for ${to}`);
    return address;
  }

  /** The rule of the directed link from → to (`pass` unless set). */
  ruleOf(from: string, to: string): LinkRule {
    return this.rules.get(linkKey(from, to)) ?? passRule;
  }

  /**
   * Sets the rule of the directed link from → to. A `blackhole` or `drop` cuts the link's existing
   * connections (a partition is felt at once, not after TCP's minutes-long timeouts); leaving
   * `blackhole` cuts the connections whose bytes were discarded, since their streams have holes.
   */
  setRule(from: string, to: string, rule: LinkRule): void {
    const previous = this.ruleOf(from, to);
    if (rule.kind === 'pass') this.rules.delete(linkKey(from, to));
    else this.rules.set(linkKey(from, to), rule);
    for (const connection of [...this.connections]) {
      if (!connection.carries(from, to)) continue;
      if (rule.kind === 'blackhole' || rule.kind === 'drop' || connection.poisoned) {
        this.cut(connection);
      } else if (previous.kind === 'delay' && rule.kind === 'pass') {
        connection.flushDelayed();
      }
    }
  }

  /**
   * Partitions `node` from every other node, both ways (`blackhole` on each link to and from
   * it); its existing peer connections are cut at once. {@link LinkProxy.healAll} undoes it.
   * @throws Error for a node that is not a target.
   */
  isolate(node: string): void {
    if (!this.targets.has(node)) throw new Error(`no proxy target ${node}`);
    for (const other of this.targets.keys()) {
      if (other === node) continue;
      this.setRule(node, other, { kind: 'blackhole' });
      this.setRule(other, node, { kind: 'blackhole' });
    }
  }

  /** Every link back to `pass`; connections with discarded bytes are cut. */
  healAll(): void {
    for (const key of [...this.rules.keys()]) {
      const [from, to] = key.split('\u0000') as [string, string];
      this.setRule(from, to, passRule);
    }
    for (const connection of [...this.connections]) if (connection.poisoned) this.cut(connection);
  }

  /**
   * Adds a node to a running proxy (a member added to the cluster): opens its listeners as
   * {@link LinkProxy.start} would have, the links to and from every node when link listeners are
   * on and its shared listener when `sourceMarkers` were given; its markers must be in that map
   * before it dials. Resolves once every new listener is bound.
   * @throws Error if a node of that name exists or a listener cannot be bound (the node is then
   *   not added).
   */
  async addTarget(target: ProxyTarget): Promise<void> {
    if (this.closed) throw new Error('the proxy is closed');
    if (this.targets.has(target.name)) throw new Error(`proxy target ${target.name} exists`);
    const opened = this.servers.length;
    const links: [string, SocketAddress][] = [];
    let shared: SocketAddress | undefined;
    try {
      if (this.options.linkListeners ?? true) {
        for (const other of this.targets.keys()) {
          for (const [from, to] of [
            [target.name, other],
            [other, target.name],
          ] as const) {
            const address = await this.listen(0, (socket) =>
              this.accept(socket, from, to, undefined),
            );
            links.push([linkKey(from, to), address]);
          }
        }
      }
      if (this.options.sourceMarkers !== undefined) {
        shared = await this.listen(target.sharedPort ?? 0, (socket) =>
          this.identify(socket, target.name),
        );
      }
    } catch (error) {
      const failed = this.servers.splice(opened);
      await Promise.all(failed.map((server) => closeServer(server)));
      throw error;
    }
    this.targets.set(target.name, target);
    for (const [key, address] of links) this.linkAddresses.set(key, address);
    if (shared !== undefined) this.sharedAddresses.set(target.name, shared);
  }

  /** Cuts every open connection that involves `node` (either end), e.g. when it is killed. */
  cutNode(node: string): void {
    for (const connection of [...this.connections]) {
      if (connection.from === node || connection.to === node) this.cut(connection);
    }
  }

  /** Number of live proxied connections. */
  get openConnections(): number {
    return this.connections.size;
  }

  /** Counters since start. */
  statistics(): LinkProxyStatistics {
    return { ...this.counters };
  }

  /** Stops listening and cuts every connection; resolves when every listener is closed. */
  async close(): Promise<void> {
    this.closed = true;
    for (const connection of [...this.connections]) this.cut(connection);
    await Promise.all(this.servers.map((server) => closeServer(server)));
  }

  private async listenAll(): Promise<void> {
    const names = this.options.targets.map((target) => target.name);
    if (this.options.linkListeners ?? true) {
      for (const from of names) {
        for (const to of names) {
          if (from === to) continue;
          const address = await this.listen(0, (socket) =>
            this.accept(socket, from, to, undefined),
          );
          this.linkAddresses.set(linkKey(from, to), address);
        }
      }
    }
    if (this.options.sourceMarkers === undefined) return;
    for (const target of this.options.targets) {
      const address = await this.listen(target.sharedPort ?? 0, (socket) =>
        this.identify(socket, target.name),
      );
      this.sharedAddresses.set(target.name, address);
    }
  }

  private listen(port: number, onConnection: (socket: Socket) => void): Promise<SocketAddress> {
    const host = this.options.host ?? '127.0.0.1';
    const server = createServer({ noDelay: true }, onConnection);
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const bound = server.address();
        if (bound === null || typeof bound === 'string') {
          reject(new Error('proxy listener has no port'));
          return;
        }
        resolve({ host, port: bound.port });
      });
    });
  }

  /** Reads the first bytes of a connection to a shared listener until they name the dialer. */
  private identify(socket: Socket, to: string): void {
    const limit = this.options.identifyBytes ?? 4096;
    const all = [...(this.options.sourceMarkers ?? new Map<string, Uint8Array[]>())];
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      // The dialer names its target too: blank those out first, then try the longest markers
      // first, so `node-1` never claims a connection from `node-10`.
      const scrubbed = Buffer.from(seen);
      for (const marker of all.find(([name]) => name === to)?.[1] ?? []) {
        for (let at = scrubbed.indexOf(marker); at !== -1; at = scrubbed.indexOf(marker, at + 1)) {
          scrubbed.fill(0, at, at + marker.length);
        }
      }
      const found = all
        .filter(([name]) => name !== to)
        .flatMap(([name, candidates]) => candidates.map((marker) => [name, marker] as const))
        .sort((left, right) => right[1].length - left[1].length)
        .find(([, marker]) => scrubbed.indexOf(marker) !== -1);
      if (found !== undefined) {
        cleanup();
        this.accept(socket, found[0], to, seen);
      } else if (seen.length >= limit) {
        cleanup();
        this.counters.unidentifiedConnections++;
        socket.destroy();
      }
    };
    const onEnd = (): void => {
      cleanup();
      this.counters.unidentifiedConnections++;
      socket.destroy();
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onEnd);
  }

  private accept(client: Socket, from: string, to: string, firstBytes: Buffer | undefined): void {
    const target = this.targets.get(to);
    if (this.closed || target === undefined) {
      client.destroy();
      return;
    }
    this.counters.connectionsAccepted++;
    client.pause();
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    const connection = new ProxiedConnection(from, to, client, upstream, this.hooks);
    this.connections.add(connection);
    upstream.once('connect', () => {
      if (firstBytes !== undefined && firstBytes.length > 0) {
        connection.forward('toTarget', firstBytes);
      }
      client.resume();
    });
  }

  private readonly hooks: ConnectionHooks = {
    ruleOf: (from, to) => this.ruleOf(from, to),
    random: () => this.options.random.next(),
    cut: (connection) => this.cut(connection),
    forwarded: (bytes) => {
      this.counters.bytesForwarded += bytes;
    },
    discarded: (bytes) => {
      this.counters.bytesDiscarded += bytes;
    },
    tampered: () => {
      this.counters.bytesTampered++;
    },
    closed: (connection) => {
      this.connections.delete(connection);
    },
  };

  private cut(connection: ProxiedConnection): void {
    if (!this.connections.has(connection)) return;
    this.counters.connectionsCut++;
    connection.destroy();
  }
}

interface ConnectionHooks {
  ruleOf(from: string, to: string): LinkRule;
  random(): number;
  cut(connection: ProxiedConnection): void;
  forwarded(bytes: number): void;
  discarded(bytes: number): void;
  tampered(): void;
  closed(connection: ProxiedConnection): void;
}

type Direction = 'toTarget' | 'toDialer';

interface QueuedAction {
  readonly due: number;
  readonly action: () => void;
}

/** One dialer connection and its upstream connection, with a delay queue per direction. */
class ProxiedConnection {
  /** Bytes were discarded: the stream has a hole, so it must never carry bytes again after a heal. */
  poisoned = false;
  private destroyed = false;
  private readonly queues: Record<Direction, QueuedAction[]> = { toTarget: [], toDialer: [] };
  private readonly timers: Record<Direction, ReturnType<typeof setTimeout> | undefined> = {
    toTarget: undefined,
    toDialer: undefined,
  };
  /** Bytes seen so far in each direction (a `tamper` rule spares the first `afterBytes`). */
  private readonly seen: Record<Direction, number> = { toTarget: 0, toDialer: 0 };

  constructor(
    readonly from: string,
    readonly to: string,
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly hooks: ConnectionHooks,
  ) {
    client.on('data', (chunk: Buffer) => this.forward('toTarget', chunk));
    upstream.on('data', (chunk: Buffer) => this.forward('toDialer', chunk));
    // A half-close is passed on as one, after the bytes before it.
    client.on('end', () => this.enqueue('toTarget', 0, () => upstream.end()));
    upstream.on('end', () => this.enqueue('toDialer', 0, () => client.end()));
    const onGone = (): void => this.destroy();
    client.on('error', onGone);
    upstream.on('error', onGone);
    client.on('close', onGone);
    upstream.on('close', onGone);
  }

  /** Whether this connection carries bytes of the directed link from → to. */
  carries(from: string, to: string): boolean {
    return (this.from === from && this.to === to) || (this.from === to && this.to === from);
  }

  forward(direction: Direction, chunk: Buffer): void {
    if (this.destroyed) return;
    const [linkFrom, linkTo] =
      direction === 'toTarget' ? [this.from, this.to] : [this.to, this.from];
    const rule = this.hooks.ruleOf(linkFrom, linkTo);
    const sink = direction === 'toTarget' ? this.upstream : this.client;
    const offset = this.seen[direction];
    this.seen[direction] += chunk.length;
    const write = (): void => this.write(sink, chunk);
    switch (rule.kind) {
      case 'tamper': {
        const untouchable = Math.max(0, (rule.afterBytes ?? 0) - offset);
        if (chunk.length > untouchable && this.hooks.random() < rule.probability) {
          // A copy: the chunk may be a view of a buffer the socket still owns.
          const tampered = Buffer.from(chunk);
          const at = untouchable + Math.floor(this.hooks.random() * (chunk.length - untouchable));
          tampered[at] = (tampered[at] as number) ^ (1 + Math.floor(this.hooks.random() * 255));
          this.hooks.tampered();
          this.enqueue(direction, 0, () => this.write(sink, tampered));
          return;
        }
        this.enqueue(direction, 0, write);
        return;
      }
      case 'blackhole':
        this.poisoned = true;
        this.hooks.discarded(chunk.length);
        return;
      case 'drop':
        if (this.hooks.random() < rule.probability) {
          this.hooks.discarded(chunk.length);
          this.hooks.cut(this);
          return;
        }
        this.enqueue(direction, 0, write);
        return;
      case 'delay':
        this.enqueue(direction, rule.delayMs + this.hooks.random() * rule.jitterMs, write);
        return;
      case 'pass':
        this.enqueue(direction, 0, write);
    }
  }

  /** Releases every delayed chunk now, in order (the link's delay was lifted). */
  flushDelayed(): void {
    for (const direction of ['toTarget', 'toDialer'] as const) this.release(direction, Infinity);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const direction of ['toTarget', 'toDialer'] as const) {
      clearTimeout(this.timers[direction]);
      this.queues[direction].length = 0;
    }
    this.client.destroy();
    this.upstream.destroy();
    this.hooks.closed(this);
  }

  /**
   * Runs `action` after `delayMs`, but never before the actions queued before it in the same
   * direction: one FIFO per direction keeps the stream in order whatever the jitter.
   */
  private enqueue(direction: Direction, delayMs: number, action: () => void): void {
    const queue = this.queues[direction];
    if (delayMs <= 0 && queue.length === 0) {
      action();
      return;
    }
    const last = queue[queue.length - 1];
    const due = Math.max(last?.due ?? 0, performance.now() + delayMs);
    queue.push({ due, action });
    this.arm(direction);
  }

  private arm(direction: Direction): void {
    const head = this.queues[direction][0];
    if (head === undefined || this.timers[direction] !== undefined) return;
    this.timers[direction] = setTimeout(
      () => {
        this.timers[direction] = undefined;
        this.release(direction, performance.now());
      },
      Math.max(0, head.due - performance.now()),
    );
  }

  private release(direction: Direction, now: number): void {
    const queue = this.queues[direction];
    while (!this.destroyed && queue.length > 0 && (queue[0] as QueuedAction).due <= now) {
      (queue.shift() as QueuedAction).action();
    }
    if (now === Infinity) {
      clearTimeout(this.timers[direction]);
      this.timers[direction] = undefined;
    }
    this.arm(direction);
  }

  private write(sink: Socket, chunk: Buffer): void {
    if (this.destroyed) return;
    this.hooks.forwarded(chunk.length);
    sink.write(chunk);
  }
}
