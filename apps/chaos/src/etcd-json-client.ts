import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:http';
import { KvRequestError } from './kv-request-error.js';

/** One key-value pair as a range returns it, decoded to UTF-8 text. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
}

/** Options of {@link EtcdJsonClient}. */
export interface EtcdJsonClientOptions {
  /** Base URL of one node's client API, e.g. `http://127.0.0.1:2379`. */
  readonly endpoint: string;
  /** Per-request timeout in milliseconds; past it the outcome is indeterminate (default 2000). */
  readonly timeoutMs?: number;
  /** Keep-alive connection pool (default: a private one). */
  readonly agent?: Agent;
  /**
   * kv-node quorum mode: the consistency level sent with every request (`X-Kv-Consistency`;
   * default: none sent, so the node's default applies, and a serializable range means `one`).
   */
  readonly consistency?: 'one' | 'quorum' | 'linearizable';
}

/** Options of {@link EtcdJsonClient.range}. */
export interface RangeOptions {
  /** Read every key starting with the key given (etcd's prefix range). */
  readonly prefix?: boolean;
  /** Read locally, without the leader's quorum round (may be stale). */
  readonly serializable?: boolean;
}

/** The member a node believes leads, from `GET /v1/cluster`. */
export interface ClusterView {
  readonly memberId: string;
  readonly name: string;
  readonly role: string;
  readonly leaderId: string | undefined;
  readonly generation: number;
  readonly members: readonly ClusterMember[];
  /** `quorum` for a kv-node in quorum mode, `leader` otherwise. */
  readonly replication: 'leader' | 'quorum';
}

/** One member as a node's cluster view lists it. */
export interface ClusterMember {
  readonly id: string;
  readonly name: string;
  /**
   * On the leader's view: milliseconds since this follower last answered (undefined when the
   * node does not say, e.g. on a follower's view).
   */
  readonly lastContactAgoMs: number | undefined;
  /** Quorum mode: this member agreed on the settings and is not suspected down (self: true). */
  readonly reachable?: boolean;
}

/** Socket errors raised before a request can have reached the server. */
const neverSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EADDRNOTAVAIL', 'EHOSTUNREACH']);

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const fromBase64 = (text: string | undefined): string =>
  Buffer.from(text ?? '', 'base64').toString('utf8');

/** etcd's prefix range end: the key with its last byte incremented. */
function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let index = bytes.length - 1; index >= 0; index--) {
    if ((bytes[index] as number) < 0xff) {
      const end = bytes.subarray(0, index + 1);
      end[index] = (bytes[index] as number) + 1;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64');
}

/**
 * A minimal client of one node's etcd v3 JSON gateway (`/v3/kv/range`, `/v3/kv/put`,
 * `/v3/kv/txn`) over keep-alive HTTP, which classifies every failure as definite or not
 * (see {@link KvRequestError}).
 */
export class EtcdJsonClient {
  readonly endpoint: string;
  private readonly timeoutMs: number;
  private readonly agent: Agent;
  private readonly ownsAgent: boolean;
  private readonly headers: Record<string, string>;

  constructor(options: EtcdJsonClientOptions) {
    this.headers =
      options.consistency === undefined ? {} : { 'x-kv-consistency': options.consistency };
    this.endpoint = options.endpoint.replace(/\/$/, '');
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.ownsAgent = options.agent === undefined;
    this.agent = options.agent ?? new Agent({ keepAlive: true, maxSockets: 64 });
  }

  /**
   * Reads one key (or a prefix): linearizable unless `serializable`.
   * @throws KvRequestError on any failure.
   */
  async range(key: string, options: RangeOptions = {}): Promise<KeyValue[]> {
    const body: Record<string, unknown> = { key: base64(key) };
    if (options.prefix === true) body.range_end = prefixEnd(key);
    if (options.serializable === true) body.serializable = true;
    const response = (await this.post('/v3/kv/range', body)) as {
      kvs?: { key?: string; value?: string; mod_revision?: string }[];
    };
    return (response.kvs ?? []).map((kv) => ({
      key: fromBase64(kv.key),
      value: fromBase64(kv.value),
      modRevision: Number(kv.mod_revision ?? 0),
    }));
  }

  /**
   * Reads every key with serializable reads: this node's local state. Reads in pages of
   * `pageSize` keys, each its own request within the timeout, so a large store (a long run's set
   * workload leaves hundreds of thousands of keys) is read without one huge response. Meant for a
   * quiet cluster: pages are read at different moments. @throws KvRequestError
   */
  async rangeAll(pageSize = 2000): Promise<KeyValue[]> {
    const all: KeyValue[] = [];
    let start = Buffer.from([0]);
    for (;;) {
      const response = (await this.post('/v3/kv/range', {
        key: start.toString('base64'),
        range_end: Buffer.from([0]).toString('base64'),
        serializable: true,
        limit: pageSize,
      })) as { kvs?: { key?: string; value?: string; mod_revision?: string }[]; more?: boolean };
      const kvs = response.kvs ?? [];
      for (const kv of kvs) {
        all.push({
          key: fromBase64(kv.key),
          value: fromBase64(kv.value),
          modRevision: Number(kv.mod_revision ?? 0),
        });
      }
      const last = kvs.at(-1)?.key;
      if (response.more !== true || last === undefined) return all;
      // The next page starts right after the last key: that key with a zero byte appended.
      start = Buffer.concat([Buffer.from(last, 'base64'), Buffer.from([0])]);
    }
  }

  /**
   * Writes a key; resolves with the revision the write created (the response header's).
   * @throws KvRequestError on any failure.
   */
  async put(key: string, value: string): Promise<number> {
    const response = (await this.post('/v3/kv/put', {
      key: base64(key),
      value: base64(value),
    })) as {
      header?: { revision?: string };
    };
    return Number(response.header?.revision ?? 0);
  }

  /**
   * Compare-and-set through a transaction: writes `replacement` if the key's value is `expected`.
   * Resolves with the revision of the write if it was written, false if the comparison failed
   * (definitely not written). @throws KvRequestError on any failure.
   */
  async compareAndSet(key: string, expected: string, replacement: string): Promise<number | false> {
    const response = (await this.post('/v3/kv/txn', {
      compare: [{ key: base64(key), target: 'VALUE', result: 'EQUAL', value: base64(expected) }],
      success: [{ request_put: { key: base64(key), value: base64(replacement) } }],
    })) as { succeeded?: boolean; header?: { revision?: string } };
    return response.succeeded === true ? Number(response.header?.revision ?? 0) : false;
  }

  /** This node's view of the cluster (`GET /v1/cluster`). @throws KvRequestError */
  async cluster(): Promise<ClusterView> {
    const view = (await this.send('GET', '/v1/cluster', undefined)) as {
      member_id?: string;
      name?: string;
      role?: string;
      leader_id?: string | null;
      generation?: number;
      replication?: string;
      members?: {
        id?: string;
        name?: string;
        last_contact_ago_ms?: number | null;
        agreed?: boolean;
        suspected?: boolean;
      }[];
    };
    return {
      memberId: view.member_id ?? '',
      name: view.name ?? '',
      role: view.role ?? 'unknown',
      leaderId: view.leader_id ?? undefined,
      generation: view.generation ?? 0,
      replication: view.replication === 'quorum' ? 'quorum' : 'leader',
      members: (view.members ?? []).map((member) => ({
        id: member.id ?? '',
        name: member.name ?? '',
        lastContactAgoMs:
          typeof member.last_contact_ago_ms === 'number' ? member.last_contact_ago_ms : undefined,
        ...(typeof member.agreed === 'boolean'
          ? { reachable: member.agreed && member.suspected !== true }
          : {}),
      })),
    };
  }

  /** Closes idle keep-alive connections (only of a private agent). */
  close(): void {
    if (this.ownsAgent) this.agent.destroy();
  }

  private post(path: string, body: unknown): Promise<unknown> {
    return this.send('POST', path, JSON.stringify(body));
  }

  private send(method: string, path: string, body: string | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let sent = false;
      const outgoing = request(
        `${this.endpoint}${path}`,
        {
          method,
          agent: this.agent,
          headers:
            body === undefined
              ? this.headers
              : { ...this.headers, 'content-type': 'application/json' },
        },
        (response) => {
          readBody(response).then(
            (text) => {
              clearTimeout(timer);
              const status = response.statusCode ?? 0;
              let parsed: unknown;
              try {
                parsed = text === '' ? {} : JSON.parse(text);
              } catch {
                parsed = undefined;
              }
              if (status === 200 && parsed !== undefined) {
                resolve(parsed);
                return;
              }
              const envelope = (parsed ?? {}) as {
                definite?: boolean;
                reason?: string;
                message?: string;
              };
              // Only the server may say an error is definite; a 504 or a garbled answer is not.
              const definite =
                envelope.definite === true || (status >= 400 && status < 500 && status !== 408);
              reject(
                new KvRequestError(
                  `${method} ${path}: HTTP ${status} ${envelope.message ?? text.slice(0, 200)}`,
                  definite,
                  status,
                  envelope.reason,
                ),
              );
            },
            (error: unknown) => {
              clearTimeout(timer);
              reject(new KvRequestError(`${method} ${path}: ${String(error)}`, false));
            },
          );
        },
      );
      const timer = setTimeout(() => {
        outgoing.destroy(
          new KvRequestError(
            `${method} ${path}: timed out after ${this.timeoutMs} ms`,
            false,
            undefined,
            'timeout',
          ),
        );
      }, this.timeoutMs);
      outgoing.on('finish', () => {
        sent = true;
      });
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (error instanceof KvRequestError) {
          reject(error);
          return;
        }
        const code = error.code ?? 'unknown';
        // A refused connection never carried the request; anything else might have.
        const definite = !sent && neverSentCodes.has(code);
        reject(
          new KvRequestError(
            `${method} ${path}: ${code} ${error.message}`,
            definite,
            undefined,
            code,
          ),
        );
      });
      outgoing.end(body);
    });
  }
}

function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
    response.on('aborted', () => reject(new Error('response aborted')));
  });
}
