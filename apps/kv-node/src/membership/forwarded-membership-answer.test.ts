import { ConfigurationChangeRefusedError, NotLeaderError } from '@x/leader-follower';
import { describe, expect, it } from 'vitest';
import { ApiError, indeterminate, unavailable } from '../http/api-error.js';
import { MAX_REFUSAL_DETAIL_BYTES } from '../node/forwarded-outcome.js';
import { apiErrorOfRefusal, refusalAnswerOf } from './forwarded-membership-answer.js';
import { MEMBERSHIP_REFUSALS, membershipApiError } from './member-errors.js';
import type { MembershipRefusal } from './member-errors.js';

/** The leader's refusal for `error`, sent as JSON and read back on the forwarding member. */
function acrossThePeerProtocol(error: unknown): { wire: string; edge: ApiError } {
  const wire = JSON.stringify(refusalAnswerOf(error));
  return { wire, edge: apiErrorOfRefusal(JSON.parse(wire)) };
}

/** An error's words and details, for comparison. */
function shape(error: ApiError): { message: string; details: ApiError['details'] } {
  return { message: error.message, details: error.details };
}

describe('a membership refusal forwarded back from the leader', () => {
  it('names each of etcd’s refusals and comes out as the leader’s error, with no status on the wire', () => {
    for (const name of Object.keys(MEMBERSHIP_REFUSALS) as MembershipRefusal[]) {
      const error = MEMBERSHIP_REFUSALS[name]();
      const { wire, edge } = acrossThePeerProtocol(error);
      expect(JSON.parse(wire), name).toEqual({ refused: name });
      expect(shape(edge), name).toEqual(shape(error));
    }
  });

  it('carries the core’s own words for a refusal etcd has no words for, as 412', () => {
    const error = membershipApiError(
      new ConfigurationChangeRefusedError('too-many-members', 'at most 9 members'),
    );
    const { wire, edge } = acrossThePeerProtocol(error);
    expect(JSON.parse(wire)).toEqual({
      refused: 'configuration-refused',
      detail: 'at most 9 members',
    });
    expect([edge.message, edge.details.status, edge.details.grpcCode]).toEqual([
      'at most 9 members',
      412,
      9,
    ]);
  });

  it('passes the other failures as a forwarded write’s refusals: no leader, indeterminate, anything else', () => {
    const noLeader = membershipApiError(new NotLeaderError(undefined)) as ApiError;
    expect(shape(acrossThePeerProtocol(noLeader).edge)).toEqual(shape(noLeader));
    const notLeader = unavailable('etcdserver: not leader', 'no_leader');
    expect(shape(acrossThePeerProtocol(notLeader).edge)).toEqual(shape(notLeader));

    const unknown = indeterminate('etcdserver: request timed out');
    const { wire, edge } = acrossThePeerProtocol(unknown);
    expect(wire).not.toMatch(/status|grpcCode|definite/);
    expect([edge.message, edge.details.status, edge.details.definite]).toEqual([
      unknown.message,
      504,
      false,
    ]);

    // A failure that is no API error stopped the change on the leader before it was made.
    const plain = acrossThePeerProtocol(new Error('registry write refused')).edge;
    expect([plain.message, plain.details.status, plain.details.definite]).toEqual([
      'etcdserver: registry write refused',
      503,
      true,
    ]);
  });

  it('bounds the words a peer sends', () => {
    const long = 'x'.repeat(MAX_REFUSAL_DETAIL_BYTES * 4);
    const edge = apiErrorOfRefusal({ refused: 'configuration-refused', detail: long });
    expect(Buffer.byteLength(edge.message)).toBeLessThanOrEqual(MAX_REFUSAL_DETAIL_BYTES);
    const wire = refusalAnswerOf(
      new ApiError(long, { ...MEMBERSHIP_REFUSALS['peer-url-exists']().details }),
    );
    expect(Buffer.byteLength(JSON.stringify(wire))).toBeLessThan(MAX_REFUSAL_DETAIL_BYTES + 100);
  });

  it('reads a refusal it does not know as "may or may not have been made", never as a peer’s status', () => {
    for (const sent of [
      { refused: 'no-such-refusal' },
      { refused: 'toString' },
      { refused: 'configuration-refused' },
      { refusal: { reason: 'teapot', detail: 'x', retryAfterSeconds: 0 } },
      { refusal: { reason: 'no_leader', detail: 7, retryAfterSeconds: 0 } },
      { refusal: { reason: 'no_leader', detail: 'x' } },
      { error: { message: 'etcdserver: member not found', details: { status: 200 } } },
    ]) {
      const edge = apiErrorOfRefusal(sent);
      expect([edge.details.status, edge.details.definite], JSON.stringify(sent)).toEqual([
        504,
        false,
      ]);
    }
  });
});
