import { request } from 'node:http';
import type { PoisonKind, PoisonRequest } from './poison-requests.js';
import { poisonRequests } from './poison-requests.js';
import type { SeededRandom } from './seeded-random.js';

/** What one poison request got. */
export type PoisonOutcome =
  /** The expected answer (a refusal, or a bounded result). */
  | 'expected'
  /** No verdict: no answer (node down, timeout, connection cut) or a 5xx/408 during a fault. */
  | 'unanswered'
  /** An answer other than the expected one: the poison was accepted or wrongly refused. */
  | 'wrong';

/** Counts of one poison kind. */
export interface PoisonCounts {
  readonly sent: number;
  readonly expected: number;
  readonly unanswered: number;
  readonly wrong: number;
}

/** What the poison workload sent and got. */
export interface PoisonResult {
  readonly byKind: Readonly<Partial<Record<PoisonKind, PoisonCounts>>>;
  /** The first wrong answers (at most 10), for the report. */
  readonly wrongAnswers: readonly string[];
}

/** Options of {@link runPoisonWorkload}. */
export interface PoisonWorkloadOptions {
  /** Every member's client URL, e.g. `http://127.0.0.1:2379`; a poison goes to one at random. */
  readonly endpoints: readonly string[];
  readonly kinds: readonly PoisonKind[];
  readonly workers: number;
  readonly random: SeededRandom;
  /** Pause between two poisons of one worker, in milliseconds (default 200). */
  readonly intervalMs?: number;
  /** Per-request timeout in milliseconds (default 10,000); past it the poison is unanswered. */
  readonly timeoutMs?: number;
  readonly stopping: () => boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Longest answer body read, in bytes: a bounded answer is small; more is itself wrong. */
const maxAnswerBytes = 1024 * 1024;

/**
 * Sends poison requests, drawn at random from `kinds`, to random members until `stopping()`,
 * and classifies each answer (see {@link PoisonOutcome}). Each request opens its own connection,
 * so a connection the server closes after a refusal harms no other traffic.
 */
export async function runPoisonWorkload(options: PoisonWorkloadOptions): Promise<PoisonResult> {
  const counts = new Map<
    PoisonKind,
    { sent: number; expected: number; unanswered: number; wrong: number }
  >();
  const wrongAnswers: string[] = [];
  const worker = async (): Promise<void> => {
    while (!options.stopping()) {
      const kind = options.random.pick(options.kinds);
      const endpoint = options.random.pick(options.endpoints);
      const poison = poisonRequests[kind];
      const answer = await sendPoison(endpoint, poison, options.timeoutMs ?? 10_000);
      const outcome = classify(poison, answer);
      const entry = counts.get(kind) ?? { sent: 0, expected: 0, unanswered: 0, wrong: 0 };
      entry.sent++;
      entry[outcome]++;
      counts.set(kind, entry);
      if (outcome === 'wrong' && wrongAnswers.length < 10) {
        wrongAnswers.push(
          `${kind} to ${endpoint}: ${answer.kind === 'answer' ? `HTTP ${answer.status} ${answer.text.slice(0, 160)}` : answer.error} (expected ${poison.expected})`,
        );
      }
      await sleep(options.intervalMs ?? 200);
    }
  };
  await Promise.all(Array.from({ length: options.workers }, () => worker()));
  return { byKind: Object.fromEntries(counts), wrongAnswers };
}

/** An answer to a poison, or why there was none. */
export type PoisonAnswer =
  | { readonly kind: 'answer'; readonly status: number; readonly text: string }
  | { readonly kind: 'none'; readonly error: string };

/** Decides what an answer means for `poison`. */
export function classify(poison: PoisonRequest, answer: PoisonAnswer): PoisonOutcome {
  if (answer.kind === 'none') return 'unanswered';
  if (poison.expectedStatuses.includes(answer.status)) {
    if (poison.acceptBody === undefined) return 'expected';
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return 'wrong';
    }
    return poison.acceptBody(body) ? 'expected' : 'wrong';
  }
  // A member without a leader, or shutting down, answers 5xx to anything that needs the log.
  if (answer.status >= 500 || answer.status === 408) return 'unanswered';
  return 'wrong';
}

/** POSTs one poison on a fresh connection and reads at most {@link maxAnswerBytes} of answer. */
function sendPoison(
  endpoint: string,
  poison: PoisonRequest,
  timeoutMs: number,
): Promise<PoisonAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (answer: PoisonAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answer);
    };
    const outgoing = request(
      `${endpoint}${poison.path}`,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
      (response) => {
        const chunks: Buffer[] = [];
        let length = 0;
        response.on('data', (chunk: Buffer) => {
          length += chunk.length;
          if (length > maxAnswerBytes) {
            settle({
              kind: 'answer',
              status: response.statusCode ?? 0,
              text: `answer over ${maxAnswerBytes} bytes`,
            });
            response.destroy();
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () =>
          settle({
            kind: 'answer',
            status: response.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', (error) => settle({ kind: 'none', error: String(error) }));
        response.on('aborted', () => settle({ kind: 'none', error: 'answer aborted' }));
      },
    );
    const timer = setTimeout(() => {
      settle({ kind: 'none', error: `timed out after ${timeoutMs} ms` });
      outgoing.destroy();
    }, timeoutMs);
    outgoing.on('error', (error: NodeJS.ErrnoException) =>
      settle({ kind: 'none', error: error.code ?? error.message }),
    );
    outgoing.end(poison.body());
  });
}
