/**
 * What a leader answers a membership change a follower forwarded, on the peer protocol: the
 * answer, or a refusal named from a closed set. Like the forwarded writes' outcome
 * (`node/forwarded-outcome.ts`), it carries no HTTP status and no gRPC code: the member that took
 * the client's request makes its own API error from the name, so a peer can neither send a status
 * that cannot be written nor decide on its own whether a client may retry.
 */

import { ApiError, indeterminate } from '../http/api-error.js';
import { apiErrorOf, refusalOf } from '../node/forward-refusal-errors.js';
import type { ForwardRefusalReason } from '../node/forwarded-outcome.js';
import {
  FORWARD_REFUSAL_REASONS,
  ForwardRefusal,
  fitRefusalDetail,
} from '../node/forwarded-outcome.js';
import type { MembershipRefusal } from './member-errors.js';
import {
  MEMBERSHIP_REFUSALS,
  configurationChangeRefused,
  isMembershipRefusal,
  membershipRefusalOf,
} from './member-errors.js';

/** A refusal as a leader sends it back: one of three closed shapes. */
export type MembershipRefusalAnswer =
  /** A membership refusal in etcd's words, by name. */
  | { refused: MembershipRefusal }
  /** The core refused the change for a reason etcd has no words for; the core's words. */
  | { refused: 'configuration-refused'; detail: string }
  /** Any other failure, as a forwarded write's refusal (no leader, timed out, ...). */
  | {
      refusal: { reason: ForwardRefusalReason; detail: string; retryAfterSeconds: number };
    };

const forwardRefusalReasons: ReadonlySet<string> = new Set(FORWARD_REFUSAL_REASONS);

/**
 * The leader's answer for `error`, which stopped a forwarded membership change. An error that is
 * not an API error says nothing was done (the change runs on this leader, which did not get to
 * it), as before: `unavailable` with its message.
 */
export function refusalAnswerOf(error: unknown): MembershipRefusalAnswer {
  if (!(error instanceof ApiError)) {
    const message = error instanceof Error ? error.message : String(error);
    const refusal = new ForwardRefusal('unavailable', `etcdserver: ${message}`);
    return { refusal: { ...refusal } };
  }
  const name = membershipRefusalOf(error);
  if (name !== undefined) return { refused: name };
  if (error.details.reason === 'precondition_failed') {
    return { refused: 'configuration-refused', detail: fitRefusalDetail(error.message) };
  }
  const refusal = refusalOf(error, 'indeterminate', 'membership change');
  return { refusal: { ...refusal } };
}

/**
 * The error the forwarding member answers its client with, for a refusal the leader sent; a
 * refusal it cannot read says the change may or may not have been made.
 */
export function apiErrorOfRefusal(answer: unknown): ApiError {
  const sent = answer as { refused?: unknown; detail?: unknown; refusal?: Record<string, unknown> };
  if (sent.refused === 'configuration-refused' && typeof sent.detail === 'string') {
    return configurationChangeRefused(fitRefusalDetail(sent.detail));
  }
  if (isMembershipRefusal(sent.refused)) return MEMBERSHIP_REFUSALS[sent.refused]();
  const refusal = sent.refusal;
  if (
    refusal !== undefined &&
    typeof refusal['reason'] === 'string' &&
    forwardRefusalReasons.has(refusal['reason']) &&
    typeof refusal['detail'] === 'string' &&
    typeof refusal['retryAfterSeconds'] === 'number'
  ) {
    return apiErrorOf(
      new ForwardRefusal(
        refusal['reason'] as ForwardRefusalReason,
        refusal['detail'],
        refusal['retryAfterSeconds'],
      ),
    );
  }
  return indeterminate(
    'etcdserver: the leader answered the membership change with a refusal this member cannot ' +
      'read; list the members',
  );
}
