/**
 * etcd 3.4's Cluster API on the JSON gateway (`/v3/cluster/member/*`), with the request and
 * response builders the gRPC Cluster service shares. Changes are kept to admins when auth is on,
 * as etcd keeps them; the list is open, as etcd's is.
 */

import type { ListedMember } from '../membership/member-directory.js';
import type { Membership, MembershipRequest } from '../membership/membership-service.js';
import { parsePeerUrls } from '../membership/membership-service.js';
import type { ApiContext } from './api-context.js';
import { badRequest, unavailable } from './api-error.js';
import { responseHeader } from './etcd-json.js';
import type { JsonBody } from './etcd-json.js';
import type { Exchange } from './exchange.js';
import { FieldReader } from './json-fields.js';
import type { ClusterStatus } from './kv-backend.js';
import { responseHeaderSource } from './response-header-source.js';

const MAX_MEMBER_ID = 2n ** 64n - 1n;

/** Which change a route or gRPC method makes. */
export type MemberChangeKind = MembershipRequest['kind'];

/** A member as etcd's JSON shows it: empty name, client URLs and a false flag left out. */
function memberJson(member: {
  id: string;
  name: string;
  peerUrls: readonly string[];
  clientUrls: readonly string[];
  isLearner?: boolean;
}): JsonBody {
  return {
    ID: member.id,
    ...(member.name === '' ? {} : { name: member.name }),
    peerURLs: [...member.peerUrls],
    ...(member.clientUrls.length === 0 ? {} : { clientURLs: [...member.clientUrls] }),
    ...(member.isLearner === true ? { isLearner: true } : {}),
  };
}

function header(context: ApiContext): JsonBody {
  // etcd's Cluster service answers with a header that has no revision (its cluster server
  // fills in only the cluster id, member id and term).
  return responseHeader(responseHeaderSource(context.backend), 0);
}

/** A `MemberListResponse` (gateway JSON; the gRPC Cluster service encodes the same object). */
export function memberListResponseJson(context: ApiContext, status: ClusterStatus): JsonBody {
  const membership = context.backend.membership?.();
  const members: readonly (ListedMember | ClusterStatus['members'][number])[] =
    membership?.list() ?? status.members;
  return { header: header(context), members: members.map(memberJson) };
}

function memberIdField(fields: FieldReader): string {
  const value = fields.raw('ID');
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,20}$/.test(text) || BigInt(text) > MAX_MEMBER_ID) {
    throw badRequest('ID must be an unsigned 64-bit integer', 'ID');
  }
  return BigInt(text).toString();
}

/** Decodes a `Member{Add,Remove,Update,Promote}Request`. @throws ApiError 400. */
export function decodeMemberChange(kind: MemberChangeKind, body: unknown): MembershipRequest {
  const fields = new FieldReader(body);
  let request: MembershipRequest;
  switch (kind) {
    case 'add':
      request = {
        kind,
        peerUrls: parsePeerUrls(fields.raw('peerURLs')),
        isLearner: fields.boolean('isLearner'),
      };
      break;
    case 'update': {
      const id = memberIdField(fields);
      request = { kind, id, peerUrls: parsePeerUrls(fields.raw('peerURLs')) };
      break;
    }
    case 'remove':
    case 'promote':
      request = { kind, id: memberIdField(fields) };
      break;
  }
  fields.rejectUnknown();
  return request;
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
  return {
    header: header(context),
    ...(answer.member === undefined ? {} : { member: memberJson(answer.member) }),
    members: answer.members.map(memberJson),
  };
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
