import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Misbehaviours a test can switch on. */
export interface FakeEtcdFaults {
  /** Reads answer with the value the key had before its last write (a stale read). */
  staleReads?: boolean;
  /** Writes are applied but answered with a definite error (a lying server). */
  applyThenFailDefinitely?: boolean;
  /** Answers every request with this HTTP status and a JSON error envelope. */
  errorStatus?: { status: number; definite: boolean };
  /** Never answers (the client must time out). */
  hang?: boolean;
}

/**
 * An in-process stand-in for kv-node's etcd v3 JSON gateway over one Map: just enough of
 * /v3/kv/range, /v3/kv/put, /v3/kv/txn, /v3/watch (a prefix from a start revision) and
 * /v1/cluster for the chaos clients. Test-only.
 */
export class FakeEtcdServer {
  readonly data = new Map<string, { value: string; modRevision: number }>();
  readonly previous = new Map<string, string>();
  faults: FakeEtcdFaults = {};
  requests = 0;
  private revision = 1;
  private readonly hanging = new Set<ServerResponse>();
  /** Every write in order (the history watches replay), and the open watches. */
  private readonly writes: StoredWrite[] = [];
  private readonly watches = new Set<(write: StoredWrite) => void>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeEtcdServer> {
    const holder: { fake?: FakeEtcdServer } = {};
    const server = createServer((request, response) => holder.fake?.handle(request, response));
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.fake = new FakeEtcdServer(server, (server.address() as AddressInfo).port);
    return holder.fake;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.requests++;
      if (this.faults.hang === true) {
        this.hanging.add(response);
        return;
      }
      const body =
        chunks.length === 0
          ? {}
          : (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>);
      if (request.url === '/v3/watch') {
        this.watch(body, response);
        return;
      }
      const error = this.faults.errorStatus;
      if (error !== undefined) {
        this.reply(response, error.status, {
          error: 'injected',
          message: 'injected',
          definite: error.definite,
        });
        return;
      }
      this.reply(response, 200, this.route(request.url ?? '', body, response));
    });
  }

  private route(url: string, body: Record<string, unknown>, response: ServerResponse): unknown {
    const decode = (field: unknown): string =>
      Buffer.from(typeof field === 'string' ? field : '', 'base64').toString();
    const encode = (text: string): string => Buffer.from(text).toString('base64');
    // As etcd: the store's revision after the request (a write's own revision).
    const header = (): { revision: string } => ({ revision: String(this.revision) });
    const write = (key: string, value: string): void => {
      const old = this.data.get(key);
      if (old !== undefined) this.previous.set(key, old.value);
      this.data.set(key, { value, modRevision: ++this.revision });
      const stored = { revision: this.revision, key, value };
      this.writes.push(stored);
      for (const notify of this.watches) notify(stored);
    };
    switch (url) {
      case '/v3/kv/range': {
        const key = decode(body.key);
        const end = body.range_end === undefined ? undefined : decode(body.range_end);
        const matching = [...this.data].filter(([candidate]) =>
          end === undefined
            ? candidate === key
            : end === '\u0000'
              ? candidate >= key
              : candidate >= key && candidate < end,
        );
        // etcd answers in key order and honours `limit`, saying whether keys were left out.
        matching.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
        const limit = Number(body.limit ?? 0);
        const more = limit > 0 && matching.length > limit;
        if (more) matching.length = limit;
        const kvs = matching.map(([candidate, entry]) => {
          const value =
            this.faults.staleReads === true
              ? (this.previous.get(candidate) ?? entry.value)
              : entry.value;
          return {
            key: encode(candidate),
            value: encode(value),
            mod_revision: String(entry.modRevision),
          };
        });
        return kvs.length === 0
          ? { header: header() }
          : { header: header(), kvs, count: String(kvs.length), ...(more ? { more: true } : {}) };
      }
      case '/v3/kv/put': {
        write(decode(body.key), decode(body.value));
        if (this.faults.applyThenFailDefinitely === true) {
          response.statusCode = 503;
          return { error: 'no leader', definite: true };
        }
        return { header: header() };
      }
      case '/v3/kv/txn': {
        const compare = (body.compare as { key: string; value: string }[])[0];
        const put = (body.success as { request_put: { key: string; value: string } }[])[0];
        const current = this.data.get(decode(compare?.key));
        const succeeded = current !== undefined && current.value === decode(compare?.value);
        if (succeeded && put !== undefined)
          write(decode(put.request_put.key), decode(put.request_put.value));
        return succeeded ? { header: header(), succeeded: true } : { header: header() };
      }
      case '/v1/cluster':
        return {
          member_id: '1',
          name: 'fake',
          role: 'leader',
          leader_id: '1',
          generation: 1,
          members: [{ id: '1', name: 'fake' }],
        };
      default:
        response.statusCode = 404;
        return { error: 'not found', definite: true };
    }
  }

  /** A watch of `[key, range_end)` from `start_revision`: history first, then new writes. */
  private watch(body: Record<string, unknown>, response: ServerResponse): void {
    const create = (body.create_request ?? {}) as Record<string, string | undefined>;
    const decode = (field: string | undefined): string =>
      Buffer.from(field ?? '', 'base64').toString();
    const encode = (text: string): string => Buffer.from(text).toString('base64');
    const key = decode(create.key);
    const end = decode(create.range_end);
    const start = Number(create.start_revision ?? 0) || this.revision + 1;
    const line = (result: unknown): string => `${JSON.stringify({ result })}\n`;
    const send = (write: StoredWrite): void => {
      if (write.revision < start || write.key < key || write.key >= end) return;
      const kv = { key: encode(write.key), value: encode(write.value) };
      response.write(
        line({
          header: { revision: String(write.revision) },
          events: [{ kv: { ...kv, mod_revision: String(write.revision) } }],
        }),
      );
    };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write(line({ header: { revision: String(this.revision) }, created: true }));
    for (const write of this.writes) send(write);
    this.watches.add(send);
    this.hanging.add(response);
    response.on('close', () => {
      this.watches.delete(send);
      this.hanging.delete(response);
    });
  }

  private reply(response: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(response.statusCode !== 200 ? response.statusCode : status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    response.end(text);
  }
}

interface StoredWrite {
  readonly revision: number;
  readonly key: string;
  readonly value: string;
}
