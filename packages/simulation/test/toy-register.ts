// A toy replicated register for the simulator's own tests: ABD (Attiya, Bar-Noy, Dolev) majority
// quorum reads and writes with read write-back, over the simulated network and disk. Every node is
// both a replica and a coordinator. `buggy` makes writes complete after the coordinator's own store
// instead of a majority, the classic mistake the linearizability check must catch.
import type { Scalar } from '@x/linearizability';
import type { NodePorts } from '../src/index.js';

/** (counter, writer index): ordered lexicographically. */
type Timestamp = readonly [number, number];

interface Versioned {
  ts: Timestamp;
  value: Scalar;
}

const QUERY = 1;
const QUERY_REPLY = 2;
const STORE = 3;
const STORE_ACK = 4;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function later(a: Timestamp, b: Timestamp): boolean {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
}

interface Round {
  readonly needed: number;
  readonly replies: Map<string, Versioned | undefined>;
  readonly done: (replies: (Versioned | undefined)[]) => void;
}

/** Options of the toy. */
export interface ToyOptions {
  /** Acknowledge writes after the coordinator's own store, before a majority (a bug). */
  buggy?: boolean;
  /** Retransmission interval, ms. */
  retryMs?: number;
}

/** One incarnation of a toy node. */
export class ToyRegisterNode {
  private readonly state = new Map<string, Versioned>();
  private readonly rounds = new Map<string, Round>();
  private nextRound = 0;
  private persisting: Promise<void> = Promise.resolve();
  private readonly index: number;
  private readonly majority: number;

  private constructor(
    private readonly ports: NodePorts,
    private readonly options: ToyOptions,
  ) {
    this.index = [ports.name, ...ports.peers].sort().indexOf(ports.name);
    this.majority = Math.floor((ports.peers.length + 1) / 2) + 1;
  }

  /** The node factory: recovers the state from disk, then listens. */
  static async create(ports: NodePorts, options: ToyOptions = {}): Promise<ToyRegisterNode> {
    const node = new ToyRegisterNode(ports, options);
    await node.recover();
    ports.transport.onMessage((from, type, payload) => node.receive(from, type, payload));
    return node;
  }

  /** The timestamp this replica holds for `key` (for invariants). */
  timestampOf(key: string): Timestamp {
    return this.state.get(key)?.ts ?? [0, 0];
  }

  /** Linearizable read: query a majority, take the newest, write it back to a majority. */
  async read(key: string): Promise<Scalar> {
    const replies = await this.round(key, QUERY, undefined, this.majority);
    const newest = this.newest(replies);
    await this.round(key, STORE, newest, this.majority, true);
    return newest.value;
  }

  /** Linearizable write: query a majority for the newest timestamp, store a later one on a majority. */
  async write(key: string, value: Scalar): Promise<void> {
    const replies = await this.round(key, QUERY, undefined, this.majority);
    const newest = this.newest(replies);
    const stored: Versioned = { ts: [newest.ts[0] + 1, this.index], value };
    await this.round(key, STORE, stored, this.options.buggy === true ? 1 : this.majority);
  }

  private newest(replies: (Versioned | undefined)[]): Versioned {
    let newest: Versioned = { ts: [0, 0], value: null };
    for (const reply of replies)
      if (reply !== undefined && later(reply.ts, newest.ts)) newest = reply;
    return newest;
  }

  private round(
    key: string,
    type: number,
    versioned: Versioned | undefined,
    needed: number,
    writeBack = false,
  ): Promise<(Versioned | undefined)[]> {
    const id = `${this.ports.name}/${this.ports.incarnation}/${this.nextRound++}`;
    const payload = encoder.encode(JSON.stringify({ id, key, versioned, writeBack }));
    return new Promise((resolve) => {
      const round: Round = {
        needed,
        replies: new Map(),
        done: (replies) => {
          this.rounds.delete(id);
          this.ports.timers.clearTimeout(timer);
          resolve(replies);
        },
      };
      this.rounds.set(id, round);
      const everyone = [this.ports.name, ...this.ports.peers];
      const send = (): void => {
        for (const peer of everyone) {
          if (!round.replies.has(peer)) {
            if (peer === this.ports.name) void this.handle(peer, type, payload.slice());
            else this.ports.transport.send(peer, type, payload);
          }
        }
      };
      let timer: unknown;
      const retry = (): void => {
        send();
        if (!this.rounds.has(id)) return; // completed by a local reply
        timer = this.ports.timers.setTimeout(retry, this.options.retryMs ?? 40);
      };
      retry();
    });
  }

  private receive(from: string, type: number, payload: Uint8Array): void {
    void this.handle(from, type, payload);
  }

  private async handle(from: string, type: number, payload: Uint8Array): Promise<void> {
    const message = JSON.parse(decoder.decode(payload)) as {
      id: string;
      key: string;
      versioned?: Versioned;
      reply?: Versioned;
      writeBack?: boolean;
    };
    switch (type) {
      case QUERY:
        this.reply(from, QUERY_REPLY, { id: message.id, reply: this.state.get(message.key) });
        return;
      case STORE: {
        const incoming = message.versioned as Versioned;
        const current = this.state.get(message.key);
        if (current === undefined || later(incoming.ts, current.ts)) {
          if (message.writeBack === true) {
            this.ports.logger.info({ key: message.key }, 'stale replica repaired');
          }
          this.state.set(message.key, incoming);
        }
        try {
          await this.persist();
        } catch {
          return; // the node halted: no acknowledgement
        }
        this.reply(from, STORE_ACK, { id: message.id });
        return;
      }
      case QUERY_REPLY:
      case STORE_ACK: {
        const round = this.rounds.get(message.id);
        if (round === undefined) return;
        round.replies.set(from, message.reply);
        if (round.replies.size >= round.needed) round.done([...round.replies.values()]);
        return;
      }
    }
  }

  private reply(to: string, type: number, body: object): void {
    const payload = encoder.encode(JSON.stringify(body));
    if (to === this.ports.name) void this.handle(to, type, payload);
    else this.ports.transport.send(to, type, payload);
  }

  // Writes the whole state atomically: temporary file, fsync, rename, directory fsync. Persists are
  // chained so a later one always writes a state at least as new as an earlier one.
  private persist(): Promise<void> {
    const next = this.persisting.then(async () => {
      const fs = this.ports.fs;
      const bytes = encoder.encode(JSON.stringify([...this.state]));
      const file = await fs.open('/data/register.tmp', 'create');
      await file.truncate(0);
      await file.write(bytes, 0, bytes.length, 0);
      await file.datasync();
      await file.close();
      await fs.rename('/data/register.tmp', '/data/register');
      await fs.syncDirectory('/data');
    });
    this.persisting = next.catch((error: unknown) => {
      this.ports.logger.error({ error }, 'disk error: halting');
      this.ports.halt(error);
    });
    return next;
  }

  private async recover(): Promise<void> {
    const fs = this.ports.fs;
    await fs.mkdir('/data');
    if (!(await fs.exists('/data/register'))) return;
    const file = await fs.open('/data/register', 'read');
    const size = await file.size();
    const bytes = new Uint8Array(size);
    await file.read(bytes, 0, size, 0);
    await file.close();
    for (const [key, versioned] of JSON.parse(decoder.decode(bytes)) as [string, Versioned][]) {
      this.state.set(key, versioned);
    }
  }
}
