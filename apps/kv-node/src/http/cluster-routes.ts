/**
 * etcd 3.4's Cluster API on the JSON gateway (`/v3/cluster/member/*`), with the request and
 * response builders the gRPC Cluster service shares, mapped from etcd's protos (`proto-json.ts`).
 * Changes are kept to admins when auth is on, as etcd keeps them; the list is open, as etcd's is.
 */

import type { ListedMember } from '../membership/member-directory.js';
import type { Membership, MembershipRequest } from '../membership/membership-service.js';
import { parsePeerUrls } from '../membership/membership-service.js';
import type { ApiContext } from './api-context.js';
import { badRequest, unavailable } from './api-error.js';
import { headerModel } from './etcd-json.js';
import type { JsonBody } from './etcd-json.js';
import type { Exchange } from './exchange.js';
import type { ClusterStatus } from './kv-backend.js';
import type { JsonObject } from './proto-json.js';
import { protoJson } from './proto-json.js';
import { responseHeaderSource } from './response-header-source.js';

/** Which change a route or gRPC method makes. */
export type MemberChangeKind = MembershipRequest['kind'];

/** The messages of etcd's Cluster service, from its protos, by change. */
const messages = {
  listResponse: protoJson('etcdserverpb.MemberListResponse'),
  request: {
    add: protoJson('etcdserverpb.MemberAddRequest'),
    remove: protoJson('etcdserverpb.MemberRemoveRequest'),
    update: protoJson('etcdserverpb.MemberUpdateRequest'),
    promote: protoJson('etcdserverpb.MemberPromoteRequest'),
  },
  response: {
    add: protoJson('etcdserverpb.MemberAddResponse'),
    remove: protoJson('etcdserverpb.MemberRemoveResponse'),
    update: protoJson('etcdserverpb.MemberUpdateResponse'),
    promote: protoJson('etcdserverpb.MemberPromoteResponse'),
  },
};

/** A member under the fields of etcd's `Member` message, for the encoders. */
function memberModel(member: {
  id: string;
  name: string;
  peerUrls: readonly string[];
  clientUrls: readonly string[];
  isLearner?: boolean;
}): JsonBody {
  return {
    ID: member.id,
    name: member.name,
    peerURLs: member.peerUrls,
    clientURLs: member.clientUrls,
    isLearner: member.isLearner === true,
  };
}

function header(context: ApiContext): JsonBody {
  // etcd's Cluster service answers with a header that has no revision (its cluster server
  // fills in only the cluster id, member id and term).
  return headerModel(responseHeaderSource(context.backend), 0);
}

/** A `MemberListResponse` (gateway JSON; the gRPC Cluster service encodes the same object). */
export function memberListResponseJson(context: ApiContext, status: ClusterStatus): JsonBody {
  const membership = context.backend.membership?.();
  const members: readonly (ListedMember | ClusterStatus['members'][number])[] =
    membership?.list() ?? status.members;
  return messages.listResponse.encode({
    header: header(context),
    members: members.map(memberModel),
  });
}

/**
 * The member a change names, as a decimal string. The protos read the id (an unsigned 64-bit
 * integer); that it must be given is kv-node's rule (proto3 reads an absent id as 0, which
 * names no member).
 */
function memberIdOf(body: unknown, decoded: JsonObject): string {
  const given = (body as JsonObject).ID;
  if (given === undefined || given === null) {
    throw badRequest('ID must be an unsigned 64-bit integer', 'ID');
  }
  return BigInt(decoded.ID as number | string).toString();
}

/** Decodes a `Member{Add,Remove,Update,Promote}Request`. @throws ApiError 400. */
export function decodeMemberChange(kind: MemberChangeKind, body: unknown): MembershipRequest {
  const decoded = messages.request[kind].decode(body);
  switch (kind) {
    case 'add':
      return {
        kind,
        // The URLs' syntax is etcd's rule, not the protos'.
        peerUrls: parsePeerUrls(decoded.peerURLs),
        isLearner: decoded.isLearner as boolean,
      };
    case 'update':
      return {
        kind,
        id: memberIdOf(body, decoded),
        peerUrls: parsePeerUrls(decoded.peerURLs),
      };
    case 'remove':
    case 'promote':
      return { kind, id: memberIdOf(body, decoded) };
  }
}

function membershipOf(context: ApiContext): Membership {
  const membership = context.backend.membership?.();
  if (membership === undefined) {
    throw unavailable(
      context.isShuttingDown()
        ? 'this node is shutting down'
        : 'etcdserver: membership changes are not available on this member (starting, or ' +
            'quorum mode, whose members are fixed by --initial-cluster)',
    );
  }
  return membership;
}

/** Makes a change and builds etcd's response (`member` only for an add). */
export async function memberChangeResponse(
  context: ApiContext,
  request: MembershipRequest,
): Promise<JsonBody> {
  const answer = await membershipOf(context).change(request);
  return messages.response[request.kind].encode({
    header: header(context),
    member: answer.member === undefined ? undefined : memberModel(answer.member),
    members: answer.members.map(memberModel),
  });
}

/** POST /v3/cluster/member/{add,remove,update,promote}. */
export function v3MemberChange(
  kind: MemberChangeKind,
): (context: ApiContext, exchange: Exchange) => Promise<void> {
  return async (context, exchange) => {
    const body = await exchange.readJson(context.limits.maxRequestBytes);
    const request = decodeMemberChange(kind, body);
    context.auth.authorizeAdmin(context.backend.auth, exchange);
    exchange.json(200, await memberChangeResponse(context, request));
  };
}
