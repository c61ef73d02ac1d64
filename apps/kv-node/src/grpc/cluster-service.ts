/** etcd's Cluster service: the member list and membership changes (see `membership/`). */

import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../http/api-context.js';
import {
  decodeMemberChange,
  memberChangeResponse,
  memberListResponseJson,
} from '../http/cluster-routes.js';
import type { MemberChangeKind } from '../http/cluster-routes.js';
import { unary } from './grpc-call.js';
import type { UnaryMethod } from './grpc-call.js';

function change(context: ApiContext, kind: MemberChangeKind): UnaryMethod {
  return (body, credentials) => {
    const request = decodeMemberChange(kind, body);
    // etcd keeps membership changes to admins when auth is on.
    context.auth.authorizeAdmin(context.backend.auth, credentials);
    return memberChangeResponse(context, request);
  };
}

/** The handlers of `etcdserverpb.Cluster`. */
export function clusterService(context: ApiContext): UntypedServiceImplementation {
  return {
    // etcd serves the member list without an auth check, so `etcdctl member list` works with
    // auth enabled and no user.
    MemberList: unary(context, () => memberListResponseJson(context, context.backend.status())),
    MemberAdd: unary(context, change(context, 'add')),
    MemberRemove: unary(context, change(context, 'remove')),
    MemberUpdate: unary(context, change(context, 'update')),
    MemberPromote: unary(context, change(context, 'promote')),
  };
}
