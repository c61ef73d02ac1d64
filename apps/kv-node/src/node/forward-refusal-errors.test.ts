import { describe, expect, it } from 'vitest';
import {
  ApiError,
  GrpcCode,
  badRequest,
  indeterminate,
  tooLarge,
  tooManyRequests,
  unavailable,
} from '../http/api-error.js';
import { grpcErrorOf } from '../grpc/grpc-errors.js';
import { apiErrorOf, refusalOf } from './forward-refusal-errors.js';
import type { ForwardRefusalReason } from './forwarded-outcome.js';
import { FORWARD_REFUSAL_REASONS, ForwardRefusal } from './forwarded-outcome.js';

/** What the client of the forwarding member sees, over HTTP and over gRPC. */
function edge(refusal: ForwardRefusal) {
  const error = apiErrorOf(refusal);
  const { status, grpcCode, definite } = error.details;
  return { status, grpcCode, definite, grpc: grpcErrorOf(error).details };
}

describe('forward refusals at the edges', () => {
  it('map each reason to a status, gRPC code and definiteness chosen by the receiving member', () => {
    const expected: Record<ForwardRefusalReason, ReturnType<typeof edge>> = {
      no_leader: { status: 503, grpcCode: 14, definite: true, grpc: 'etcdserver: no leader' },
      unavailable: {
        status: 503,
        grpcCode: 14,
        definite: true,
        grpc: 'etcdserver: request timed out',
      },
      shutting_down: {
        status: 503,
        grpcCode: 14,
        definite: true,
        grpc: 'etcdserver: server stopped',
      },
      too_large: {
        status: 413,
        grpcCode: 3,
        definite: true,
        grpc: 'etcdserver: request is too large',
      },
      too_many_requests: {
        status: 429,
        grpcCode: 8,
        definite: true,
        grpc: 'etcdserver: too many requests',
      },
      txn_reads_too_large: { status: 400, grpcCode: 3, definite: true, grpc: 'reads too much' },
      indeterminate: {
        status: 504,
        grpcCode: 4,
        definite: false,
        grpc: 'etcdserver: request timed out',
      },
    };
    for (const reason of FORWARD_REFUSAL_REASONS) {
      expect(edge(new ForwardRefusal(reason, 'reads too much', 2))).toEqual(expected[reason]);
    }
  });

  it("keeps the leader's words and retry advice, but never its status", () => {
    const refusal = refusalOf(tooManyRequests(2.2), 'indeterminate', 'forwarded write failed');
    expect(refusal).toEqual(
      new ForwardRefusal('too_many_requests', 'etcdserver: too many requests', 3),
    );
    expect(apiErrorOf(refusal).details.retryAfterSeconds).toBe(3);
    const moving = refusalOf(
      unavailable('etcdserver: leadership is being transferred'),
      'indeterminate',
      'forwarded write failed',
    );
    expect(grpcErrorOf(apiErrorOf(moving)).details).toBe('etcdserver: leader changed');
    expect(apiErrorOf(refusalOf(tooLarge('entry of 3 MiB'), 'indeterminate', 'x')).message).toBe(
      'entry of 3 MiB',
    );
    const unknown = refusalOf(indeterminate('lost'), 'unavailable', 'x');
    expect(apiErrorOf(unknown).details).toMatchObject({ status: 504, definite: false });
  });

  it('falls back by what the error says was done when the protocol has no reason for it', () => {
    expect(refusalOf(new Error('disk'), 'indeterminate', 'forwarded write failed')).toEqual(
      new ForwardRefusal('indeterminate', 'forwarded write failed: Error: disk'),
    );
    expect(refusalOf(new Error('disk'), 'unavailable', 'read barrier failed').reason).toBe(
      'unavailable',
    );
    // Definitely not done: retrying is safe.
    expect(refusalOf(badRequest('no'), 'indeterminate', 'x').reason).toBe('unavailable');
    const maybeDone = new ApiError('odd', {
      reason: 'internal',
      status: 500,
      grpcCode: GrpcCode.internal,
      definite: false,
    });
    expect(refusalOf(maybeDone, 'unavailable', 'x').reason).toBe('indeterminate');
  });
});
