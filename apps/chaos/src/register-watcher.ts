import type { ClientRequest, IncomingMessage } from 'node:http';
import { request } from 'node:http';
import type { ObservedWatchEvent, WatchCoverage } from './watch-check.js';

/** Options of {@link RegisterWatcher}. */
export interface RegisterWatcherOptions {
  /** Base URLs of the members' client APIs; the watcher moves to the next one on each re-open. */
  readonly endpoints: readonly string[];
  /** Keys to watch: every key starting with it. */
  readonly prefix: string;
  /** Pause before re-opening a broken stream, in milliseconds (default 100). */
  readonly reopenDelayMs?: number;
  /** Progress lines (stream opened, broken) for the terminal. */
  readonly log?: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** etcd's prefix range end: the prefix with its last byte incremented (ASCII prefixes only). */
function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  const last = bytes.length - 1;
  bytes[last] = (bytes[last] as number) + 1;
  return bytes.toString('base64');
}

interface GatewayEvent {
  type?: string;
  kv?: { key?: string; value?: string; mod_revision?: string };
}

interface GatewayResult {
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: GatewayEvent[];
}

/**
 * A client watching one prefix through etcd's gateway stream (`POST /v3/watch`) for a whole
 * chaos run, as an application would: whenever its stream breaks (the member was killed, the
 * connection reset, the watch cancelled) or is stalled when told to catch up, it re-opens on the
 * next member from the last revision it saw + 1. It records every event in the order received,
 * for {@link checkWatchStream}.
 */
export class RegisterWatcher {
  readonly #options: RegisterWatcherOptions;
  readonly #events: ObservedWatchEvent[] = [];
  readonly #notes: string[] = [];
  #nextRevision = 1;
  #member = 0;
  #streams = 0;
  #current: ClientRequest | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;
  #progressAt = performance.now();

  constructor(options: RegisterWatcherOptions) {
    this.#options = options;
  }

  /** Every event received, in order of arrival. */
  get events(): readonly ObservedWatchEvent[] {
    return this.#events;
  }

  /** How many times a stream was opened (the first opening included). */
  get streamsOpened(): number {
    return this.#streams;
  }

  /** Why streams ended, in order (for the run's notices). */
  get notes(): readonly string[] {
    return this.#notes;
  }

  /** What the stream covered, for the gap check. */
  coverage(): WatchCoverage {
    return {
      fromRevision: 1,
      throughRevision: this.#nextRevision - 1,
      prefix: this.#options.prefix,
    };
  }

  /** Starts watching from revision 1 (everything the store has written). */
  start(): void {
    this.#running ??= this.#run();
  }

  /**
   * Waits until the watcher has seen `revision` or `timeoutMs` passes. A stream that delivers
   * nothing for `stallMs` while behind is treated as broken and re-opened on the next member (a
   * member that was paused or cut off may serve it late). Resolves whether it got there.
   */
  async catchUp(revision: number, timeoutMs: number, stallMs = 3000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.#nextRevision <= revision && performance.now() < deadline) {
      if (performance.now() - this.#progressAt > stallMs) {
        this.#progressAt = performance.now();
        this.#current?.destroy(new Error('stalled while catching up'));
      }
      await sleep(50);
    }
    return this.#nextRevision > revision;
  }

  /** Closes the stream and stops re-opening it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#current?.destroy();
    await this.#running;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const endpoint = this.#options.endpoints[
        this.#member % this.#options.endpoints.length
      ] as string;
      const ended = await this.#openOnce(endpoint);
      if (this.#stopped) return;
      this.#notes.push(`stream ${this.#streams - 1} on ${endpoint}: ${ended}`);
      this.#options.log?.(`watcher: stream on ${endpoint} ended (${ended}); re-opening`);
      this.#member++;
      await sleep(this.#options.reopenDelayMs ?? 100);
    }
  }

  /** Opens one stream from the next revision; resolves with why it ended. */
  #openOnce(endpoint: string): Promise<string> {
    const stream = this.#streams++;
    const body = JSON.stringify({
      create_request: {
        key: Buffer.from(this.#options.prefix).toString('base64'),
        range_end: prefixEnd(this.#options.prefix),
        start_revision: String(this.#nextRevision),
      },
    });
    return new Promise((resolve) => {
      let settled = false;
      const finish = (why: string): void => {
        if (settled) return;
        settled = true;
        this.#current = undefined;
        resolve(why);
      };
      const outgoing = request(
        `${endpoint}/v3/watch`,
        { method: 'POST', headers: { 'content-type': 'application/json' } },
        (response: IncomingMessage) => {
          if (response.statusCode !== 200) {
            response.resume();
            finish(`HTTP ${response.statusCode ?? 0}`);
            return;
          }
          this.#progressAt = performance.now();
          response.setEncoding('utf8');
          let buffered = '';
          response.on('data', (chunk: string) => {
            buffered += chunk;
            for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
              const line = buffered.slice(0, end).trim();
              buffered = buffered.slice(end + 1);
              if (line === '') continue;
              const why = this.#receive(line, stream);
              if (why !== undefined) {
                outgoing.destroy();
                finish(why);
                return;
              }
            }
          });
          response.on('end', () => finish('the member ended the stream'));
          response.on('error', (error) => finish(error.message));
          response.on('aborted', () => finish('aborted'));
        },
      );
      this.#current = outgoing;
      outgoing.on('error', (error) => finish(error.message));
      outgoing.on('close', () => finish('connection closed'));
      outgoing.end(body);
    });
  }

  /** Takes one response line; returns why the stream must end, if it must. */
  #receive(line: string, stream: number): string | undefined {
    let parsed: { result?: GatewayResult; error?: unknown };
    try {
      parsed = JSON.parse(line) as { result?: GatewayResult; error?: unknown };
    } catch {
      return `unparsable line ${line.slice(0, 100)}`;
    }
    if (parsed.error !== undefined) return `error ${JSON.stringify(parsed.error).slice(0, 200)}`;
    const result = parsed.result ?? {};
    if (result.canceled === true) {
      return result.compact_revision === undefined
        ? `cancelled: ${result.cancel_reason ?? 'no reason given'}`
        : `cancelled: revision ${this.#nextRevision} compacted (compact revision ${result.compact_revision})`;
    }
    for (const event of result.events ?? []) {
      const revision = Number(event.kv?.mod_revision ?? 0);
      const type = event.type === 'DELETE' ? 'delete' : 'put';
      this.#events.push({
        type,
        key: Buffer.from(event.kv?.key ?? '', 'base64').toString('utf8'),
        value:
          type === 'put'
            ? Buffer.from(event.kv?.value ?? '', 'base64').toString('utf8')
            : undefined,
        revision,
        stream,
      });
      // Only forward: an event from the past must not move the resume point back (the order
      // check reports it).
      if (revision >= this.#nextRevision) this.#nextRevision = revision + 1;
      this.#progressAt = performance.now();
    }
    return undefined;
  }
}
