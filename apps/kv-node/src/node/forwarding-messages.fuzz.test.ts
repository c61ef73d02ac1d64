// Structured fuzzing of the forwarding protocol between followers and the leader (issue 23):
// valid requests and answers of every kind, mutated (bit flips, truncation, extension, counts and
// lengths set huge) or replaced by raw bytes, decoded as their own kind or another. Every input
// decodes to a message whose re-encoding decodes to the same message, or throws
// MalformedEncodingError; nothing else. FUZZ_RUNS scales the cases (docs/guides/fuzzing.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzedBytes } from '../../../../tools/fuzz/byte-mutations.js';
import { fuzzRuns, fuzzTimeoutMs } from '../../../../tools/fuzz/fuzz-runs.js';
import { commandResult, count, kvCommand, leaseId } from '../../test/support/kv-arbitraries.js';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { encodeCommand } from '../codec/command-codec.js';
import {
  FORWARD_REFUSAL_REASONS,
  ForwardRefusal,
  MAX_REFUSAL_DETAIL_BYTES,
  MAX_REFUSAL_RETRY_AFTER_SECONDS,
} from './forwarded-outcome.js';
import type { ForwardedWrite, WriteAnswer } from './forwarding-messages.js';
import {
  decodeReadRequest,
  decodeReadResponse,
  decodeWriteBatchRequest,
  decodeWriteBatchResponse,
  encodeReadResponse,
  decodeLeaseQueryRequest,
  decodeLeaseQueryResponse,
  encodeLeaseQueryRequest,
  encodeLeaseQueryResponse,
  encodeReadRequest,
  encodeWriteBatchRequest,
  encodeWriteBatchResponse,
} from './forwarding-messages.js';

const runs = fuzzRuns(500);

/** Refusals of every reason, with short details and now and then one cut to its bound. */
const refusal: fc.Arbitrary<ForwardRefusal> = fc
  .record({
    reason: fc.constantFrom(...FORWARD_REFUSAL_REASONS),
    detail: fc.oneof(
      { arbitrary: fc.string({ maxLength: 20 }), weight: 4 },
      { arbitrary: fc.string({ unit: 'grapheme', minLength: 300, maxLength: 600 }), weight: 1 },
    ),
    retryAfterSeconds: fc.nat({ max: 2 * MAX_REFUSAL_RETRY_AFTER_SECONDS }),
  })
  .map(
    ({ reason, detail, retryAfterSeconds }) =>
      new ForwardRefusal(reason, detail, retryAfterSeconds),
  );

const forwardedWrite: fc.Arbitrary<ForwardedWrite> = fc.record({
  correlationId: count,
  command: kvCommand.map(encodeCommand),
});

const writeAnswer: fc.Arbitrary<WriteAnswer> = fc.record({
  correlationId: count,
  outcome: fc.oneof(
    refusal,
    fc.record({
      status: fc.constantFrom('applied' as const, 'replayed' as const),
      result: commandResult,
    }),
    fc.record({
      status: fc.constant('rejected' as const),
      reason: fc.constant('idempotency_key_reused' as const),
      requestId: fc.string({ maxLength: 12 }),
    }),
    fc.record({
      status: fc.constant('lease' as const),
      result: fc.oneof(
        fc.record({ revision: count, id: leaseId, ttlSeconds: count }),
        fc.record({
          revision: count,
          error: fc.constantFrom('leaseNotFound' as const, 'leaseExists' as const),
        }),
      ),
    }),
  ),
});

const leaseQuery = fc.record({
  op: fc.constantFrom('keepAlive' as const, 'timeToLive' as const),
  id: leaseId,
});

/** Each message kind: how to make a valid one, and how its receiver decodes it. */
const kinds = {
  readRequest: {
    valid: count.map(encodeReadRequest),
    decode: decodeReadRequest,
    encodeAgain: encodeReadRequest,
  },
  writeBatchRequest: {
    valid: fc.array(forwardedWrite, { maxLength: 4 }).map(encodeWriteBatchRequest),
    decode: decodeWriteBatchRequest,
    encodeAgain: encodeWriteBatchRequest,
  },
  writeBatchResponse: {
    valid: fc.array(writeAnswer, { maxLength: 4 }).map(encodeWriteBatchResponse),
    decode: decodeWriteBatchResponse,
    encodeAgain: encodeWriteBatchResponse,
  },
  leaseQueryRequest: {
    valid: fc
      .record({ correlationId: count, query: leaseQuery })
      .map(({ correlationId, query }) => encodeLeaseQueryRequest(correlationId, query)),
    decode: decodeLeaseQueryRequest,
    encodeAgain: (decoded: ReturnType<typeof decodeLeaseQueryRequest>) =>
      encodeLeaseQueryRequest(decoded.correlationId, decoded.query),
  },
  leaseQueryResponse: {
    valid: fc
      .record({
        correlationId: count,
        outcome: fc.oneof(
          refusal,
          fc.constant(undefined),
          fc.record({ grantedSeconds: count, remainingSeconds: count }),
        ),
      })
      .map(({ correlationId, outcome }) => encodeLeaseQueryResponse(correlationId, outcome)),
    decode: decodeLeaseQueryResponse,
    encodeAgain: (decoded: ReturnType<typeof decodeLeaseQueryResponse>) =>
      encodeLeaseQueryResponse(decoded.correlationId, decoded.outcome),
  },
  readResponse: {
    valid: fc
      .record({ correlationId: count, outcome: fc.oneof(count, refusal) })
      .map(({ correlationId, outcome }) => encodeReadResponse(correlationId, outcome)),
    decode: decodeReadResponse,
    encodeAgain: (decoded: ReturnType<typeof decodeReadResponse>) =>
      encodeReadResponse(decoded.correlationId, decoded.outcome),
  },
} as const;
type Kind = keyof typeof kinds;
const kindNames = Object.keys(kinds) as Kind[];

/** Messages compared by what they carry; a refusal is told from an outcome by its class. */
function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, member: unknown) =>
      member instanceof ForwardRefusal
        ? { refusal: { ...member } }
        : member instanceof Uint8Array
          ? Array.from(member)
          : member,
    ),
  ) as unknown;
}

function decodeAs(kind: Kind, payload: Uint8Array): unknown {
  return (kinds[kind].decode as (payload: Uint8Array) => unknown)(payload);
}

function encodeAgainAs(kind: Kind, decoded: unknown): Uint8Array {
  return (kinds[kind].encodeAgain as (decoded: unknown) => Uint8Array)(decoded);
}

const input = fc
  .constantFrom(...kindNames)
  .chain((made) =>
    fc.tuple(
      fc.oneof(
        { arbitrary: fc.constant(made), weight: 4 },
        { arbitrary: fc.constantFrom(...kindNames), weight: 1 },
      ),
      fuzzedBytes(kinds[made].valid),
    ),
  );

describe('forwarding messages under fuzzing', () => {
  it(
    'decode to a message that round-trips, or throw MalformedEncodingError',
    () => {
      fc.assert(
        fc.property(input, ([kind, payload]) => {
          let decoded: unknown;
          try {
            decoded = decodeAs(kind, payload);
          } catch (error) {
            expect(error).toBeInstanceOf(MalformedEncodingError);
            return;
          }
          expect(plain(decodeAs(kind, encodeAgainAs(kind, decoded)))).toEqual(plain(decoded));
        }),
        { numRuns: runs },
      );
    },
    fuzzTimeoutMs(runs),
  );

  /** A refused read answer, field by field: id, status byte, reason, detail, retry-after. */
  function refusedReadAnswer(reason: number, detail: (writer: BinaryWriter) => void, retry = 0) {
    const writer = new BinaryWriter(64);
    writer.writeVarint(7);
    writer.writeByte(18);
    writer.writeByte(reason);
    detail(writer);
    writer.writeVarint(retry);
    return writer.finish();
  }

  it('carries no HTTP error: an answer in the retired error format is malformed', () => {
    // Status 3 carried an HTTP error (reason, message, definite, HTTP status, gRPC code,
    // retry-after) before refusals had reasons of their own.
    const writer = new BinaryWriter(64);
    writer.writeVarint(7);
    writer.writeByte(3);
    writer.writeUtf8('unavailable');
    writer.writeUtf8('x');
    writer.writeByte(1);
    writer.writeVarint(503);
    writer.writeVarint(14);
    writer.writeVarint(0);
    expect(() => decodeReadResponse(writer.finish())).toThrow(MalformedEncodingError);
  });

  it('decodes a refusal with a known reason, a bounded detail and a bounded retry-after', () => {
    const fits = refusedReadAnswer(4, (writer) => writer.writeUtf8('x'.repeat(1024)), 3600);
    expect(decodeReadResponse(fits).outcome).toEqual(
      new ForwardRefusal('too_many_requests', 'x'.repeat(1024), 3600),
    );
    const unknownReason = refusedReadAnswer(FORWARD_REFUSAL_REASONS.length, (writer) =>
      writer.writeUtf8('x'),
    );
    expect(() => decodeReadResponse(unknownReason)).toThrow(/unknown refusal reason/);
    const retryTooLong = refusedReadAnswer(4, (writer) => writer.writeUtf8('x'), 3601);
    expect(() => decodeReadResponse(retryTooLong)).toThrow(/retry-after/);
  });

  it('refuses a detail over its bound before allocating it, present or only claimed', () => {
    const present = refusedReadAnswer(0, (writer) =>
      writer.writeUtf8('x'.repeat(MAX_REFUSAL_DETAIL_BYTES + 1)),
    );
    expect(() => decodeReadResponse(present)).toThrow(/over 1024/);
    // A length prefix claiming 2^40 bytes, followed by none: refused for its claim, not its
    // truncation.
    const claimed = refusedReadAnswer(0, (writer) => writer.writeVarint(2 ** 40));
    expect(() => decodeReadResponse(claimed)).toThrow(/over 1024/);
  });

  it('cuts a long detail to its bound when the leader builds the refusal', () => {
    const long = new ForwardRefusal('indeterminate', 'é'.repeat(2000));
    expect(Buffer.byteLength(long.detail)).toBeLessThanOrEqual(MAX_REFUSAL_DETAIL_BYTES);
    expect(new ForwardRefusal('no_leader', 'x', -5).retryAfterSeconds).toBe(0);
    expect(new ForwardRefusal('no_leader', 'x', 1e9).retryAfterSeconds).toBe(3600);
  });
});
