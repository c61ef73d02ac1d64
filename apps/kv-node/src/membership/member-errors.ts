/**
 * etcd 3.4's membership errors, with its words, gRPC codes and gateway statuses (etcd's
 * `rpctypes`), and the mapping from `@x/leader-follower`'s typed refusals to them.
 */

import { ConfigurationChangeRefusedError } from '@x/leader-follower';
import { ApiError, GrpcCode, badRequest, unavailable } from '../http/api-error.js';
import { toApiError } from '../node/local-replica.js';

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
 * 412: a learner is to be added while the cluster has one already. etcd 3.4 allows one learner
 * (`maxLearners`): each costs the leader a stream of the log and snapshots, for no quorum.
 */
export function tooManyLearners(): ApiError {
  return failedPrecondition('etcdserver: too many learner members in cluster');
}

/**
 * 503: another membership change is running and not yet applied; one at a time. etcd 3.4's raft
 * drops such a change (it then times out as "etcdserver: request timed out"); kv-node refuses
 * it at once, definitely, in etcd's words for a cluster not ready for a change (`ErrUnhealthy`),
 * exactly, so that etcd's clients recognise it (`rpctypes.ErrUnhealthy`).
 */
export function membershipChangeInFlight(): ApiError {
  return unavailable('etcdserver: unhealthy cluster');
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
 * 412: the core refused a configuration change for a reason etcd has no words for (too many
 * members, a malformed member id); `message` is the core's.
 */
export function configurationChangeRefused(message: string): ApiError {
  return failedPrecondition(message);
}

/**
 * Membership refusals in etcd's words, by name: what a leader answers a forwarded change with
 * (see `forwarded-membership-answer.ts`). The member that took the client's request makes the
 * error from the name, so its status and gRPC code are decided at its own edge, never sent on
 * the peer protocol.
 */
export const MEMBERSHIP_REFUSALS = {
  'member-not-found': memberNotFound,
  'member-bad-urls': memberBadUrls,
  'peer-url-exists': peerUrlExists,
  'member-id-exists': memberIdExists,
  'too-many-learners': tooManyLearners,
  'change-in-flight': membershipChangeInFlight,
  'not-a-learner': memberNotLearner,
  'learner-not-ready': learnerNotReady,
  'not-enough-started-members': notEnoughStartedMembers,
} as const satisfies Record<string, () => ApiError>;

/** One of {@link MEMBERSHIP_REFUSALS}' names. */
export type MembershipRefusal = keyof typeof MEMBERSHIP_REFUSALS;

/** Each refusal's name by etcd's words (its message): the words are the refusal's identity. */
const refusalByMessage: ReadonlyMap<string, MembershipRefusal> = new Map(
  (Object.keys(MEMBERSHIP_REFUSALS) as MembershipRefusal[]).map((name) => [
    MEMBERSHIP_REFUSALS[name]().message,
    name,
  ]),
);

/** The name of the membership refusal `error` is, if it is one of {@link MEMBERSHIP_REFUSALS}. */
export function membershipRefusalOf(error: ApiError): MembershipRefusal | undefined {
  const name = refusalByMessage.get(error.message);
  if (name === undefined) return undefined;
  // The words alone could be another error's (a status of the same words): the details decide.
  const made = MEMBERSHIP_REFUSALS[name]();
  return made.details.status === error.details.status &&
    made.details.reason === error.details.reason
    ? name
    : undefined;
}

/** Whether `name` (as a peer sent it) is one of {@link MEMBERSHIP_REFUSALS}' names. */
export function isMembershipRefusal(name: unknown): name is MembershipRefusal {
  return typeof name === 'string' && Object.hasOwn(MEMBERSHIP_REFUSALS, name);
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
    case 'leader-not-ready':
      // Another change is not committed yet, or a new leader has not committed an entry of its
      // own generation yet: either way retry shortly.
      return membershipChangeInFlight();
    case 'not-leader':
    case 'leadership-transfer':
      return unavailable('etcdserver: not leader', 'no_leader');
    case 'too-many-members':
    case 'bad-member-id':
      return configurationChangeRefused(error.message);
  }
}
