import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogEntry } from './log-entry.js';
import {
  MESSAGE_TYPES,
  MessageDecodeError,
  decodeMessage,
  encodeMessage,
} from './message-codec.js';
import type { Message } from './messages.js';

const u = fc.nat({ max: Number.MAX_SAFE_INTEGER });
/** A storage identity as the node makes them (hex), or any short string. */
const storageId = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 32 }),
  fc.string({ minLength: 1, maxLength: 16 }),
);
const small = fc.nat({ max: 1_000_000 });

const entriesAfter = (prevIndex: number): fc.Arbitrary<LogEntry[]> =>
  fc
    .array(
      fc.record({
        generation: u,
        kind: fc.constantFrom('empty' as const, 'command' as const),
        command: fc.uint8Array({ maxLength: 40 }),
      }),
      { maxLength: 8 },
    )
    .map((list) => list.map((entry, i) => ({ ...entry, index: prevIndex + 1 + i })));

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    kind: fc.constant('vote-request' as const),
    generation: u,
    preVote: fc.boolean(),
    leadershipTransfer: fc.boolean(),
    lastLogIndex: u,
    lastLogGeneration: u,
  }),
  fc.record({
    kind: fc.constant('vote-request' as const),
    generation: u,
    preVote: fc.boolean(),
    leadershipTransfer: fc.boolean(),
    lastLogIndex: u,
    lastLogGeneration: u,
    storageId,
  }),
  fc.record({
    kind: fc.constant('vote-response' as const),
    generation: u,
    preVote: fc.boolean(),
    granted: fc.boolean(),
    storageId,
  }),
  fc.record({
    kind: fc.constant('append-response' as const),
    generation: u,
    rejected: fc.boolean(),
    index: u,
    hintIndex: u,
    hintGeneration: u,
    storageId,
  }),
  fc.record({
    kind: fc.constant('heartbeat' as const),
    generation: u,
    highWaterMark: u,
    readRound: u,
    storageIds: fc.array(
      fc.record({ member: fc.string({ minLength: 1, maxLength: 20 }), storageId }),
      { minLength: 1, maxLength: 7 },
    ),
  }),
  fc.record({
    kind: fc.constant('heartbeat-response' as const),
    generation: u,
    readRound: u,
    storageId,
  }),
  fc.record({
    kind: fc.constant('storage-lost' as const),
    generation: u,
    storageId,
    rememberedStorageId: storageId,
  }),
  fc.record({
    kind: fc.constant('vote-response' as const),
    generation: u,
    preVote: fc.boolean(),
    granted: fc.boolean(),
  }),
  fc
    .record({ generation: u, prevIndex: small, prevGeneration: u, highWaterMark: u })
    .chain((base) =>
      entriesAfter(base.prevIndex).map((entries) => ({
        kind: 'append' as const,
        ...base,
        entries,
      })),
    ),
  fc.record({
    kind: fc.constant('append-response' as const),
    generation: u,
    rejected: fc.boolean(),
    index: u,
    hintIndex: u,
    hintGeneration: u,
  }),
  fc.record({
    kind: fc.constant('heartbeat' as const),
    generation: u,
    highWaterMark: u,
    readRound: u,
  }),
  fc.record({ kind: fc.constant('heartbeat-response' as const), generation: u, readRound: u }),
  fc
    .record({
      generation: u,
      snapshotIndex: u,
      snapshotGeneration: u,
      offset: small,
      data: fc.uint8Array({ maxLength: 64 }),
      extra: small,
    })
    .map(({ extra, ...chunk }) => ({
      kind: 'snapshot-chunk' as const,
      ...chunk,
      totalBytes: chunk.offset + chunk.data.length + extra,
    })),
  fc.record({
    kind: fc.constant('snapshot-response' as const),
    generation: u,
    snapshotIndex: u,
    nextOffset: u,
    installedIndex: u,
    rejected: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('timeout-now' as const), generation: u }),
);

describe('message codec', () => {
  it('round-trips every message kind', () => {
    fc.assert(
      fc.property(message, (original) => {
        const { type, payload } = encodeMessage(original);
        expect(type).toBe(MESSAGE_TYPES[original.kind]);
        expect(decodeMessage(type, payload)).toEqual(original);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes entry commands as views into the payload, without copying', () => {
    const { type, payload } = encodeMessage({
      kind: 'append',
      generation: 2,
      prevIndex: 9,
      prevGeneration: 1,
      highWaterMark: 9,
      entries: [{ index: 10, generation: 2, kind: 'command', command: new Uint8Array([1, 2, 3]) }],
    });
    const decoded = decodeMessage(type, payload);
    if (decoded?.kind !== 'append') throw new Error('not an append');
    expect(decoded.entries[0]?.command.buffer).toBe(payload.buffer);
  });

  it('ignores other message types and rejects truncated or padded payloads', () => {
    expect(decodeMessage(7, new Uint8Array(0))).toBeUndefined();
    const { type, payload } = encodeMessage({ kind: 'timeout-now', generation: 3 });
    expect(() => decodeMessage(type, payload.subarray(0, 4))).toThrow(MessageDecodeError);
    const padded = new Uint8Array(payload.length + 1);
    padded.set(payload);
    expect(() => decodeMessage(type, padded)).toThrow(MessageDecodeError);
  });

  it('never throws anything but MessageDecodeError on arbitrary bytes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(MESSAGE_TYPES)),
        fc.uint8Array({ maxLength: 80 }),
        (type, payload) => {
          try {
            decodeMessage(type, payload);
          } catch (error) {
            expect(error).toBeInstanceOf(MessageDecodeError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('messages of an earlier release (no storage identity)', () => {
  it('still decode, without a storage identity', () => {
    const withId = encodeMessage({
      kind: 'append-response',
      generation: 4,
      rejected: false,
      index: 9,
      hintIndex: 0,
      hintGeneration: 0,
      storageId: 'abc',
    });
    const old = withId.payload.subarray(0, withId.payload.length - 4);
    expect(decodeMessage(withId.type, old)).toEqual({
      kind: 'append-response',
      generation: 4,
      rejected: false,
      index: 9,
      hintIndex: 0,
      hintGeneration: 0,
    });
    const heartbeat = encodeMessage({
      kind: 'heartbeat',
      generation: 1,
      highWaterMark: 2,
      readRound: 3,
    });
    expect(decodeMessage(heartbeat.type, heartbeat.payload.subarray(0, 24))).toEqual({
      kind: 'heartbeat',
      generation: 1,
      highWaterMark: 2,
      readRound: 3,
    });
  });
});
