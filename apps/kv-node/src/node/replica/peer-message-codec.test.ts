import fc from 'fast-check';
import type { Message } from '@x/leader-follower';
import { describe, expect, it } from 'vitest';
import { MalformedEncodingError } from '../../codec/binary-reader.js';
import { decodePeerMessage, encodePeerMessage } from './peer-message-codec.js';

const count = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const bytes = fc.uint8Array({ maxLength: 64 });
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    kind: fc.constant('vote-request' as const),
    generation: count,
    preVote: fc.boolean(),
    leadershipTransfer: fc.boolean(),
    lastLogIndex: count,
    lastLogGeneration: count,
  }),
  fc.record({
    kind: fc.constant('vote-response' as const),
    generation: count,
    preVote: fc.boolean(),
    granted: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('append' as const),
    generation: count,
    prevIndex: count,
    prevGeneration: count,
    highWaterMark: count,
    entries: fc.array(
      fc.record({
        index: count,
        generation: count,
        kind: fc.constantFrom('empty' as const, 'command' as const),
        command: bytes,
      }),
      { maxLength: 4 },
    ),
  }),
  fc.record({
    kind: fc.constant('append-response' as const),
    generation: count,
    rejected: fc.boolean(),
    index: count,
    hintIndex: count,
    hintGeneration: count,
  }),
  fc.record({
    kind: fc.constant('heartbeat' as const),
    generation: count,
    highWaterMark: count,
    readRound: count,
  }),
  fc.record({
    kind: fc.constant('heartbeat-response' as const),
    generation: count,
    readRound: count,
  }),
  fc.record({
    kind: fc.constant('snapshot-chunk' as const),
    generation: count,
    snapshotIndex: count,
    snapshotGeneration: count,
    offset: count,
    totalBytes: count,
    data: bytes,
  }),
  fc.record({
    kind: fc.constant('snapshot-response' as const),
    generation: count,
    snapshotIndex: count,
    nextOffset: count,
    installedIndex: count,
    rejected: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('timeout-now' as const), generation: count }),
);

describe('peer message codec', () => {
  it('round-trips every message', () => {
    fc.assert(
      fc.property(message, (original) => {
        const { type, payload } = encodePeerMessage(original);
        const decoded = decodePeerMessage(type, payload.slice());
        expect(decoded).toEqual(
          original.kind === 'append'
            ? {
                ...original,
                entries: original.entries.map((entry) => ({
                  ...entry,
                  command: expect.any(Uint8Array) as unknown,
                })),
              }
            : original.kind === 'snapshot-chunk'
              ? { ...original, data: expect.any(Uint8Array) as unknown }
              : original,
        );
        if (original.kind === 'append' && decoded?.kind === 'append') {
          decoded.entries.forEach((entry, index) => {
            expect([...entry.command]).toEqual([...original.entries[index]!.command]);
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('ignores other message types and rejects malformed payloads', () => {
    expect(decodePeerMessage(0xff01, Uint8Array.of(1))).toBeUndefined();
    const { type, payload } = encodePeerMessage({
      kind: 'heartbeat',
      generation: 3,
      highWaterMark: 9,
      readRound: 2,
    });
    expect(() => decodePeerMessage(type, payload.subarray(0, 1))).toThrow(MalformedEncodingError);
  });
});
