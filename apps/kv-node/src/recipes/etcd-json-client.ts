/**
 * A small client of etcd's v3 JSON gateway (which kv-node serves, and etcd 3.4 too), enough for
 * the coordination recipes: put, range, delete, txn, leases and watch. It speaks to one member;
 * while a cluster elects a leader (503) or a member restarts (connection refused) it retries reads
 * and lease calls, and only those: a write whose answer was lost may have been applied, so the
 * caller decides (send an `Idempotency-Key` header through {@link EtcdJsonClient.post}'s
 * `headers`, or read back to find out).
 */

import type { ReadableStream } from 'node:stream/web';

/** Bytes in the gateway's JSON are base64. */
export function toBase64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** The text of a base64 field. */
export function fromBase64(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}

/** The first key after every key that starts with `prefix`: the `range_end` of a prefix range. */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let index = bytes.length - 1; index >= 0; index--) {
    if ((bytes[index] as number) < 0xff) {
      const end = bytes.subarray(0, index + 1);
      end[index] = (end[index] as number) + 1;
      return end.toString('base64');
    }
  }
  return toBase64('\0');
}

/** An error answer of the gateway: etcd's message and gRPC code, with the HTTP status. */
export class EtcdError extends Error {
  /**
   * @param status the HTTP status.
   * @param code etcd's gRPC code (for example 14 UNAVAILABLE).
   * @param message etcd's message (for example "etcdserver: no leader").
   */
  constructor(
    readonly status: number,
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'EtcdError';
  }
}

/** A key-value as the gateway returns it (bytes as base64, 64-bit integers as strings). */
export interface GatewayKeyValue {
  key: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

/** The header every answer carries. */
export interface GatewayHeader {
  revision?: string;
  raft_term?: string;
}

/** Options of {@link EtcdJsonClient}. */
export interface EtcdJsonClientOptions {
  /** How long retried calls keep retrying in ms (default 30 s). */
  retryForMs?: number;
  /** Pause between retries in ms (default 100). */
  retryPauseMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether an error means "try again": no leader yet, or the member is not reachable now. */
function isTransient(error: unknown): boolean {
  if (error instanceof EtcdError) return error.status === 503;
  return error instanceof TypeError; // fetch's network failure (refused, reset)
}

/** A client of one member's JSON gateway. */
export class EtcdJsonClient {
  readonly #retryForMs: number;
  readonly #retryPauseMs: number;

  /**
   * @param baseUrl the member's client URL, for example `http://127.0.0.1:2379`.
   * @param options see {@link EtcdJsonClientOptions}.
   */
  constructor(
    readonly baseUrl: string,
    options: EtcdJsonClientOptions = {},
  ) {
    this.#retryForMs = options.retryForMs ?? 30_000;
    this.#retryPauseMs = options.retryPauseMs ?? 100;
  }

  /**
   * POSTs `body` to `path` once and returns the answer's JSON.
   * @throws EtcdError for an error answer; TypeError when the member cannot be reached.
   */
  async post<T>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    const json = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
    if (response.status !== 200) {
      const message =
        typeof json.error === 'string'
          ? json.error
          : typeof json.message === 'string'
            ? json.message
            : `HTTP ${response.status}`;
      throw new EtcdError(
        response.status,
        typeof json.code === 'number' ? json.code : undefined,
        message,
      );
    }
    return json as T;
  }

  /** {@link post}, retried while the answer is transient (503, unreachable member). */
  async postRetrying<T>(path: string, body: unknown): Promise<T> {
    const deadline = Date.now() + this.#retryForMs;
    for (;;) {
      try {
        return await this.post<T>(path, body);
      } catch (error) {
        if (!isTransient(error) || Date.now() > deadline) throw error;
        await sleep(this.#retryPauseMs);
      }
    }
  }

  /** Reads one key or a range (linearizable); retried while transient. */
  range(request: Record<string, unknown>): Promise<{
    header?: GatewayHeader;
    kvs?: GatewayKeyValue[];
    count?: string;
  }> {
    return this.postRetrying('/v3/kv/range', request);
  }

  /** A transaction, sent once (a lost answer may hide an applied write). */
  txn(
    request: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<{ header?: GatewayHeader; succeeded?: boolean; responses?: unknown[] }> {
    return this.post('/v3/kv/txn', request, headers);
  }

  /** Deletes one key; retried while transient (deleting twice is harmless). */
  deleteKey(key: string): Promise<{ header?: GatewayHeader; deleted?: string }> {
    return this.postRetrying('/v3/kv/deleterange', { key: toBase64(key) });
  }

  /** Grants a lease of `ttlSeconds`; retried while transient. Resolves with its id. */
  async grantLease(ttlSeconds: number): Promise<{ id: string; ttlSeconds: number }> {
    const answer = await this.postRetrying<{ ID?: string; TTL?: string; error?: string }>(
      '/v3/lease/grant',
      { TTL: ttlSeconds },
    );
    if (answer.ID === undefined) throw new EtcdError(200, undefined, answer.error ?? 'no lease');
    return { id: answer.ID, ttlSeconds: Number(answer.TTL ?? ttlSeconds) };
  }

  /** Renews a lease once; resolves with its remaining TTL, or `undefined` when it is gone. */
  async keepAlive(id: string): Promise<number | undefined> {
    const answer = await this.post<{ result?: { TTL?: string } }>('/v3/lease/keepalive', {
      ID: id,
    });
    const ttl = answer.result?.TTL;
    return ttl === undefined || Number(ttl) <= 0 ? undefined : Number(ttl);
  }

  /** Revokes a lease (its keys are deleted); retried while transient; unknown leases are fine. */
  async revokeLease(id: string): Promise<void> {
    try {
      await this.postRetrying('/v3/lease/revoke', { ID: id });
    } catch (error) {
      if (error instanceof EtcdError && error.status === 404) return;
      throw error;
    }
  }

  /**
   * Waits until `key` is deleted at a revision after `afterRevision`, watching it from
   * `afterRevision + 1` (so a delete between the caller's read and the watch is not missed).
   * Re-opens the watch when the stream breaks (a member restarting). Resolves early if `signal`
   * aborts.
   */
  async waitForDelete(key: string, afterRevision: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.#retryForMs;
    // A function, not a narrowed property: the signal can abort while a watch is open.
    const aborted = (): boolean => signal?.aborted === true;
    for (;;) {
      if (aborted()) return;
      try {
        if (await this.#watchOnceForDelete(key, afterRevision, signal)) return;
      } catch (error) {
        if (aborted()) return;
        if (!isTransient(error) && !(error instanceof WatchStreamEnded)) throw error;
        if (Date.now() > deadline) throw error;
      }
      await sleep(this.#retryPauseMs);
    }
  }

  async #watchOnceForDelete(
    key: string,
    afterRevision: number,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const abort = new AbortController();
    const onAbort = (): void => abort.abort();
    signal?.addEventListener('abort', onAbort);
    try {
      const response = await fetch(`${this.baseUrl}/v3/watch`, {
        method: 'POST',
        body: JSON.stringify({
          create_request: { key: toBase64(key), start_revision: String(afterRevision + 1) },
        }),
        signal: abort.signal,
      });
      if (response.status !== 200 || response.body === null) {
        throw new EtcdError(response.status, undefined, await response.text());
      }
      // fetch's body is a web stream; its type comes from Node's `stream/web` (no DOM lib here).
      const reader = (response.body as unknown as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      for (;;) {
        const newline = buffered.indexOf('\n');
        if (newline >= 0) {
          const line = JSON.parse(buffered.slice(0, newline)) as {
            result?: { canceled?: boolean; events?: { type?: string }[] };
          };
          buffered = buffered.slice(newline + 1);
          if (line.result?.canceled === true) throw new WatchStreamEnded('watch cancelled');
          if (line.result?.events?.some((event) => event.type === 'DELETE') === true) return true;
          continue;
        }
        const chunk = await reader.read();
        if (chunk.done) throw new WatchStreamEnded('watch stream ended');
        buffered += decoder.decode(chunk.value, { stream: true });
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      abort.abort();
    }
  }
}

/** A watch stream that ended or was cancelled before the awaited event: re-opened by the caller. */
class WatchStreamEnded extends Error {}
