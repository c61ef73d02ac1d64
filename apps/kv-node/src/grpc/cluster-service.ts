/** etcd's Cluster service: MemberList now; membership changes come with the membership work. */

import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../http/api-context.js';
import { memberListResponseJson } from '../http/v3-routes.js';
import { unary, unimplemented } from './grpc-call.js';

const MEMBERSHIP_LATER =
  'etcdserver: kv-node does not change membership at run time yet: members are fixed by ' +
  '--initial-cluster; MemberAdd, MemberRemove, MemberUpdate and MemberPromote come with the ' +
  'membership work';

/** The handlers of `etcdserverpb.Cluster`. */
export function clusterService(context: ApiContext): UntypedServiceImplementation {
  return {
    // etcd serves the member list without an auth check, so `etcdctl member list` works with
    // auth enabled and no user.
    MemberList: unary(context, () => memberListResponseJson(context, context.backend.status())),
    MemberAdd: unimplemented(MEMBERSHIP_LATER),
    MemberRemove: unimplemented(MEMBERSHIP_LATER),
    MemberUpdate: unimplemented(MEMBERSHIP_LATER),
    MemberPromote: unimplemented(MEMBERSHIP_LATER),
  };
}
