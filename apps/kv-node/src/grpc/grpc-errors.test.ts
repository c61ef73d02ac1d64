import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { authError } from '../auth/auth-errors.js';
import { ApiError, GrpcCode, indeterminate, tooLarge, unavailable } from '../http/api-error.js';
import { grpcErrorOf } from './grpc-errors.js';

describe('grpcErrorOf', () => {
  it("answers with etcd's exact messages and codes, which its clients match", () => {
    expect(grpcErrorOf(unavailable('etcdserver: not leader', 'no_leader'))).toMatchObject({
      code: status.UNAVAILABLE,
      details: 'etcdserver: no leader',
    });
    expect(grpcErrorOf(indeterminate('etcdserver: request timed out'))).toMatchObject({
      code: status.UNAVAILABLE,
      details: 'etcdserver: request timed out',
    });
    expect(grpcErrorOf(unavailable('no answer from the leader m3 in time'))).toMatchObject({
      code: status.UNAVAILABLE,
      details: 'etcdserver: request timed out',
    });
    expect(grpcErrorOf(unavailable('etcdserver: leadership is being transferred'))).toMatchObject({
      code: status.UNAVAILABLE,
      details: 'etcdserver: leader changed',
    });
    expect(grpcErrorOf(tooLarge('value is 2000000 bytes; the limit is 1048576'))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'etcdserver: request is too large',
    });
    expect(grpcErrorOf(unavailable('this node is shutting down', 'shutting_down'))).toMatchObject({
      code: status.UNAVAILABLE,
      details: 'etcdserver: server stopped',
    });
    expect(grpcErrorOf(authError('invalidAuthToken'))).toMatchObject({
      code: status.UNAUTHENTICATED,
      details: 'etcdserver: invalid auth token',
    });
    expect(grpcErrorOf(authError('permissionDenied'))).toMatchObject({
      code: status.PERMISSION_DENIED,
      details: 'etcdserver: permission denied',
    });
  });

  it('keeps the message and code of other API errors; unknown failures are INTERNAL', () => {
    const compacted = new ApiError('etcdserver: mvcc: required revision has been compacted', {
      reason: 'compacted',
      status: 400,
      grpcCode: GrpcCode.outOfRange,
      definite: true,
    });
    expect(grpcErrorOf(compacted)).toMatchObject({
      code: status.OUT_OF_RANGE,
      details: 'etcdserver: mvcc: required revision has been compacted',
    });
    expect(grpcErrorOf(new Error('boom'))).toMatchObject({
      code: status.INTERNAL,
      details: 'internal error: boom',
    });
  });
});
