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
import type { ErrorReason } from '../http/api-error.js';
import { ApiError } from '../http/api-error.js';
import type { ForwardedWrite, WriteAnswer } from './forwarding-messages.js';
import {
  decodeReadResponse,
  decodeRequest,
  decodeWriteBatchRequest,
  decodeWriteBatchResponse,
  decodeWriteResponse,
  encodeReadResponse,
  decodeLeaseQueryRequest,
  decodeLeaseQueryResponse,
  encodeLeaseQueryRequest,
  encodeLeaseQueryResponse,
  encodeRequest,
  encodeWriteBatchRequest,
  encodeWriteBatchResponse,
  encodeWriteResponse,
} from './forwarding-messages.js';

const runs = fuzzRuns(500);

const apiError: fc.Arbitrary<ApiError> = fc
  .record(
    {
      message: fc.string({ maxLength: 20 }),
      reason: fc.constantFrom<ErrorReason>(
        'bad_request',
        'no_leader',
        'unavailable',
        'indeterminate',
      ),
      status: fc.integer({ min: 100, max: 599 }),
      grpcCode: fc.nat({ max: 16 }),
      definite: fc.boolean(),
      retryAfterSeconds: fc.integer({ min: 1, max: 3600 }),
    },
    { requiredKeys: ['message', 'reason', 'status', 'grpcCode', 'definite'] },
  )
  .map(({ message, ...details }) => new ApiError(message, details));

const forwardedWrite: fc.Arbitrary<ForwardedWrite> = fc.record({
  correlationId: count,
  command: kvCommand.map(encodeCommand),
});

const writeAnswer: fc.Arbitrary<WriteAnswer> = fc.record({
  correlationId: count,
  outcome: fc.oneof(
    apiError,
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
  writeRequest: {
    valid: forwardedWrite.map((write) => encodeRequest(write.correlationId, write.command)),
    decode: (payload: Uint8Array) => decodeRequest(payload, true),
    encodeAgain: (decoded: ReturnType<typeof decodeRequest>) =>
      encodeRequest(decoded.correlationId, decoded.command),
  },
  readRequest: {
    valid: count.map((id) => encodeRequest(id)),
    decode: (payload: Uint8Array) => decodeRequest(payload, false),
    encodeAgain: (decoded: ReturnType<typeof decodeRequest>) =>
      encodeRequest(decoded.correlationId),
  },
  writeBatchRequest: {
    valid: fc.array(forwardedWrite, { maxLength: 4 }).map(encodeWriteBatchRequest),
    decode: decodeWriteBatchRequest,
    encodeAgain: encodeWriteBatchRequest,
  },
  writeResponse: {
    valid: writeAnswer.map((answer) => encodeWriteResponse(answer.correlationId, answer.outcome)),
    decode: decodeWriteResponse,
    encodeAgain: (answer: WriteAnswer) => encodeWriteResponse(answer.correlationId, answer.outcome),
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
          apiError,
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
      .record({ correlationId: count, outcome: fc.oneof(count, apiError) })
      .map(({ correlationId, outcome }) => encodeReadResponse(correlationId, outcome)),
    decode: decodeReadResponse,
    encodeAgain: (decoded: ReturnType<typeof decodeReadResponse>) =>
      encodeReadResponse(decoded.correlationId, decoded.outcome),
  },
} as const;
type Kind = keyof typeof kinds;
const kindNames = Object.keys(kinds) as Kind[];

/** Errors compared by what they carry (message and details), not by identity. */
function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, member: unknown) =>
      member instanceof ApiError
        ? { message: member.message, details: member.details }
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

  it('refuses an error answer whose HTTP status could not be sent', () => {
    for (const [status, valid] of [
      [503, true],
      [0, false],
      [99, false],
      [600, false],
      [2 ** 40, false],
    ] as const) {
      // A failed read answer, field by field: id, status byte, reason, message, definite, HTTP
      // status, gRPC code, retry-after.
      const writer = new BinaryWriter(64);
      writer.writeVarint(7);
      writer.writeByte(3);
      writer.writeUtf8('unavailable');
      writer.writeUtf8('x');
      writer.writeByte(1);
      writer.writeVarint(status);
      writer.writeVarint(14);
      writer.writeVarint(0);
      const decode = () => decodeReadResponse(writer.finish());
      if (valid) expect(decode().outcome).toBeInstanceOf(ApiError);
      else expect(decode).toThrow(MalformedEncodingError);
    }
  });
});
