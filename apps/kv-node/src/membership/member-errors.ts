/**
 * etcd 3.4's membership errors, with its words, gRPC codes and gateway statuses (etcd's
 * `rpctypes`), and the mapping from `@x/leader-follower`'s typed refusals to them.
 */

import { ConfigurationChangeRefusedError } from '@x/leader-follower';
import { ApiError, GrpcCode, badRequest, unavailable } from '../http/api-error.js';
import { toApiError } from '../node/local-replica.js';
import { REPLACE_MEMBER_RUNBOOK } from '../node/data-directory.js';

function failedPrecondition(message: string): ApiError {
  return new ApiError(message, {
    reason: 'precondition_failed',
    status: 412,
    grpcCode: GrpcCode.failedPrecondition,
    definite: true,
  });
}

/** 404 NOT_FOUND: no member has that id. */
export function memberNotFound(): ApiError {
  return new ApiError('etcdserver: member not found', {
    reason: 'not_found',
    status: 404,
    grpcCode: GrpcCode.notFound,
    definite: true,
  });
}

/** 400 INVALID_ARGUMENT: missing or malformed peer URLs. */
export function memberBadUrls(): ApiError {
  return badRequest('etcdserver: given member URLs are invalid', 'peerURLs');
}

/** 412: another member already has one of these peer URLs. */
export function peerUrlExists(): ApiError {
  return failedPrecondition('etcdserver: Peer URLs already exists');
}

/** 412: the member to add is one already. */
export function memberIdExists(): ApiError {
  return failedPrecondition('etcdserver: member ID already exist');
}

/**
 * 412: these peer URLs belonged to a removed member. kv-node derives an added member's id from
 * its peer URLs (so the new member can compute it), and a removed id never comes back: the
 * others remember its storage, and a new disk under it would be refused as a forgetful member.
 */
export function memberIdRemoved(): ApiError {
  return failedPrecondition(
    'etcdserver: ID removed: a member with these peer URLs was removed; add the new member ' +
      `with other peer URLs (another port or host), see ${REPLACE_MEMBER_RUNBOOK}`,
  );
}

/** 412: promoting a voter. */
export function memberNotLearner(): ApiError {
  return failedPrecondition('etcdserver: can only promote a learner member');
}

/** 412: promoting a learner that lags or is silent. */
export function learnerNotReady(): ApiError {
  return failedPrecondition(
    'etcdserver: can only promote a learner member which is in sync with leader',
  );
}

/** 412: the change would leave the voters without a live majority. */
export function notEnoughStartedMembers(): ApiError {
  return failedPrecondition(
    'etcdserver: re-configuration failed due to not enough started members',
  );
}

/**
 * Maps what `proposeConfigurationChange` rejected with to the API's error: refusals are definite
 * (nothing entered the log); the rest as every write's (`toApiError`).
 */
export function membershipApiError(error: unknown): unknown {
  if (!(error instanceof ConfigurationChangeRefusedError)) return toApiError(error);
  switch (error.reason) {
    case 'learner-not-caught-up':
      return learnerNotReady();
    case 'not-enough-started-members':
    case 'no-voter':
      return notEnoughStartedMembers();
    case 'not-a-learner':
      return memberNotLearner();
    case 'not-a-member':
      return memberNotFound();
    case 'already-member':
    case 'duplicate-member':
      return memberIdExists();
    case 'change-in-flight':
      return unavailable(
        'etcdserver: unhealthy cluster: another membership change is not committed yet; ' +
          'retry once it is',
      );
    case 'leader-not-ready':
      return unavailable(
        'etcdserver: unhealthy cluster: the new leader has not committed an entry yet; retry',
      );
    case 'not-leader':
    case 'leadership-transfer':
      return unavailable('etcdserver: not leader', 'no_leader');
    case 'too-many-members':
    case 'bad-member-id':
      return failedPrecondition(error.message);
  }
}
