// Structured fuzzing of the peer message codec (issue 23): valid encodings of every message
// kind, mutated (bit flips, truncation, extension, length and count fields set huge) or replaced
// by raw bytes, under their own type or another one. Every input must decode to a message that
// re-encodes to the same bytes' meaning, or throw MessageDecodeError; nothing else. FUZZ_RUNS
// scales the cases (docs/guides/fuzzing.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzedBytes } from '../../../tools/fuzz/byte-mutations.js';
import { fuzzRuns, fuzzTimeoutMs } from '../../../tools/fuzz/fuzz-runs.js';
import type { LogEntry } from './log-entry.js';
import { clusterConfiguration, encodeConfiguration } from './cluster-configuration.js';
import type { ClusterConfiguration } from './cluster-configuration.js';
import {
  CONFIGURED_SNAPSHOT_CHUNK_TYPE,
  MESSAGE_TYPES,
  MessageDecodeError,
  decodeMessage,
  encodeMessage,
} from './message-codec.js';
import type { Message } from './messages.js';

const runs = fuzzRuns(500);
const number = fc.oneof(
  fc.nat({ max: 1000 }),
  fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.nat({ max: Number.MAX_SAFE_INTEGER }),
);
/** A valid configuration: 1-5 voters and 0-3 learners, distinct ids of 1-12 characters. */
const configuration: fc.Arbitrary<ClusterConfiguration> = fc
  .uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 })
  .chain((ids) =>
    fc
      .integer({ min: 1, max: Math.min(5, ids.length) })
      .map((voters) => clusterConfiguration(ids.slice(0, voters), ids.slice(voters))),
  );
const entry = fc.oneof(
  fc.record({
    generation: number,
    kind: fc.constantFrom('empty' as const, 'command' as const),
    command: fc.uint8Array({ maxLength: 24 }),
  }),
  fc.record({
    generation: number,
    kind: fc.constant('configuration' as const),
    command: configuration.map(encodeConfiguration),
  }),
);
const entries = (prevIndex: number): fc.Arbitrary<LogEntry[]> =>
  fc
    .array(entry, { maxLength: 5 })
    .map((list) => list.map((entry, i) => ({ ...entry, index: prevIndex + 1 + i })));

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    kind: fc.constant('vote-request' as const),
    generation: number,
    preVote: fc.boolean(),
    leadershipTransfer: fc.boolean(),
    lastLogIndex: number,
    lastLogGeneration: number,
  }),
  fc.record({
    kind: fc.constant('vote-response' as const),
    generation: number,
    preVote: fc.boolean(),
    granted: fc.boolean(),
  }),
  fc
    .record({
      generation: number,
      prevIndex: fc.nat({ max: 1_000_000 }),
      prevGeneration: number,
      highWaterMark: number,
    })
    .chain((base) =>
      entries(base.prevIndex).map((list) => ({ kind: 'append' as const, ...base, entries: list })),
    ),
  fc.record({
    kind: fc.constant('append-response' as const),
    generation: number,
    rejected: fc.boolean(),
    index: number,
    hintIndex: number,
    hintGeneration: number,
  }),
  fc.record({
    kind: fc.constant('heartbeat' as const),
    generation: number,
    highWaterMark: number,
    readRound: number,
  }),
  fc.record({
    kind: fc.constant('heartbeat-response' as const),
    generation: number,
    readRound: number,
  }),
  fc
    .record({
      generation: number,
      snapshotIndex: number,
      snapshotGeneration: number,
      offset: fc.nat({ max: 1_000_000 }),
      data: fc.uint8Array({ maxLength: 48 }),
      extra: fc.nat({ max: 1_000_000 }),
      configuration: fc.option(configuration, { nil: undefined }),
    })
    .map(({ extra, configuration: carried, ...chunk }) => ({
      kind: 'snapshot-chunk' as const,
      ...chunk,
      totalBytes: chunk.offset + chunk.data.length + extra,
      ...(carried === undefined ? {} : { configuration: carried }),
    })),
  fc.record({
    kind: fc.constant('snapshot-response' as const),
    generation: number,
    snapshotIndex: number,
    nextOffset: number,
    installedIndex: number,
    rejected: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('timeout-now' as const), generation: number }),
);

const allTypes = [...Object.values(MESSAGE_TYPES), CONFIGURED_SNAPSHOT_CHUNK_TYPE];

/** A payload fuzzed from a valid message, with that message's type or (sometimes) another. */
const input = message.chain((original) => {
  const { type, payload } = encodeMessage(original);
  return fc.tuple(
    fc.oneof(
      { arbitrary: fc.constant(type), weight: 4 },
      { arbitrary: fc.constantFrom(...allTypes), weight: 1 },
    ),
    fuzzedBytes(fc.constant(payload)),
  );
});

/** Messages a member of an earlier release sends without the trailing storage identity. */
const EARLIER_RELEASE_FORMS = new Set<Message['kind']>([
  'vote-request',
  'vote-response',
  'append-response',
  'heartbeat',
  'heartbeat-response',
]);

/** Every number a decoded message holds: they must be safe, non-negative integers. */
function numbersOf(message: Message): number[] {
  const numbers = Object.values(message).filter(
    (value): value is number => typeof value === 'number',
  );
  if (message.kind === 'append') {
    for (const entry of message.entries) numbers.push(entry.index, entry.generation);
  }
  return numbers;
}

describe('message codec under fuzzing', () => {
  it(
    'decodes every mutated or random payload to a valid message or throws MessageDecodeError',
    () => {
      fc.assert(
        fc.property(input, ([type, payload]) => {
          let decoded: Message | undefined;
          try {
            decoded = decodeMessage(type, payload);
          } catch (error) {
            expect(error).toBeInstanceOf(MessageDecodeError);
            return;
          }
          expect(decoded).toBeDefined();
          const message = decoded!;
          expect(
            message.kind === 'snapshot-chunk' && message.configuration !== undefined
              ? CONFIGURED_SNAPSHOT_CHUNK_TYPE
              : MESSAGE_TYPES[message.kind],
          ).toBe(type);
          for (const value of numbersOf(message)) {
            expect(Number.isSafeInteger(value) && value >= 0).toBe(true);
          }
          if (message.kind === 'snapshot-chunk') {
            expect(message.offset + message.data.length).toBeLessThanOrEqual(message.totalBytes);
          }
          // Canonical: the same size as what was read, and its meaning survives a round trip. A
          // message in an earlier release's form (it ends before the storage identity) is read
          // as having none, and is written back with the one zero byte that says so.
          const again = encodeMessage(message);
          if (
            EARLIER_RELEASE_FORMS.has(message.kind) &&
            again.payload.length === payload.length + 1
          ) {
            expect(again.payload[payload.length]).toBe(0);
          } else {
            expect(again.payload.length).toBe(payload.length);
          }
          expect(decodeMessage(again.type, again.payload)).toEqual(message);
        }),
        { numRuns: runs },
      );
    },
    fuzzTimeoutMs(runs),
  );

  it('refuses an append whose entry count or command length is huge, without allocating it', () => {
    const { type, payload } = encodeMessage({
      kind: 'append',
      generation: 1,
      prevIndex: 0,
      prevGeneration: 0,
      highWaterMark: 0,
      entries: [{ index: 1, generation: 1, kind: 'command', command: new Uint8Array(4) }],
    });
    const hugeCount = payload.slice();
    new DataView(hugeCount.buffer).setUint32(32, 0xffff_ffff);
    expect(() => decodeMessage(type, hugeCount)).toThrow(MessageDecodeError);
    const hugeCommand = payload.slice();
    new DataView(hugeCommand.buffer).setUint32(36 + 9, 0xffff_ffff);
    expect(() => decodeMessage(type, hugeCommand)).toThrow(/truncated/);
  });
});
