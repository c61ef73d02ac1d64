/**
 * etcd's Cluster API in quorum mode (`--replication quorum`): the member list answers with the
 * members `--initial-cluster` fixes, so that etcd clients that list the members when they connect
 * (etcdctl `member list`, the etcd3 npm client) work; every change is refused saying why. Served
 * on the JSON gateway (`POST /v3/cluster/member/*`, see quorum-http.ts) and over gRPC on the same
 * client port (`etcdserverpb.Cluster` alone: the other services answer UNIMPLEMENTED, as the
 * gateway answers 501).
 */

import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { handleUnaryCall } from '@grpc/grpc-js';
import { ApiError, GrpcCode } from '../http/api-error.js';
import type { JsonBody } from '../http/etcd-json.js';
import { headerModel } from '../http/etcd-json.js';
import { protoJson } from '../http/proto-json.js';
import type { Logger } from '../logging/logger.js';
import type { NodeMetrics } from '../metrics/node-metrics.js';
import type { GrpcMethodShape } from '../metrics/grpc-server-metrics.js';
import { etcdServices } from '../grpc/etcd-proto.js';
import { grpcErrorOf } from '../grpc/grpc-errors.js';
import type { GrpcGateway } from '../grpc/grpc-gateway.js';
import { MAX_CONCURRENT_STREAMS } from '../grpc/grpc-gateway.js';
import { GrpcServer } from '../grpc/server/grpc-server.js';

/** A member as `--initial-cluster` configures it. */
export interface ConfiguredMember {
  name: string;
  /** etcd's member id (decimal). */
  id: string;
  peerUrls: readonly string[];
}

/** What the member list is built from. */
export interface QuorumClusterFacts {
  /** The cluster's and this member's ids (decimal). */
  clusterId: string;
  memberId: string;
  /** This member's `--name` and the client URLs it advertises (the others' are not known here). */
  name: string;
  advertiseClientUrls: readonly string[];
  members: readonly ConfiguredMember[];
}

const listResponse = protoJson('etcdserverpb.MemberListResponse');

/** The message every membership change is refused with in quorum mode. */
export const QUORUM_MEMBERSHIP_REFUSAL =
  'etcdserver: membership changes are not available with --replication quorum: its members are ' +
  'fixed by --initial-cluster (to change them, restart every member with the new ' +
  '--initial-cluster and the same --initial-cluster-token)';

/** The refusal of a change, as an API error (HTTP 501, gRPC UNIMPLEMENTED). */
export function quorumMembershipRefused(): ApiError {
  return new ApiError(QUORUM_MEMBERSHIP_REFUSAL, {
    reason: 'unsupported',
    status: 501,
    grpcCode: GrpcCode.unimplemented,
    definite: true,
  });
}

/**
 * A `MemberListResponse` (gateway JSON; gRPC encodes the same object): every configured member,
 * none a learner, sorted by member id as etcd lists them. There is no leader, so no term.
 */
export function quorumMemberListJson(facts: QuorumClusterFacts): JsonBody {
  const members = [...facts.members].sort((left, right) => {
    const a = BigInt(left.id);
    const b = BigInt(right.id);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return listResponse.encode({
    header: headerModel({ clusterId: facts.clusterId, memberId: facts.memberId, generation: 0 }, 0),
    members: members.map((member) => ({
      ID: member.id,
      name: member.name,
      peerURLs: member.peerUrls,
      clientURLs: member.name === facts.name ? facts.advertiseClientUrls : [],
      isLearner: false,
    })),
  });
}

/** Options of {@link createQuorumGrpcGateway}. */
export interface QuorumGrpcOptions {
  facts: QuorumClusterFacts;
  /** The largest request message (bytes). */
  maxRequestBytes: number;
  metrics: NodeMetrics;
  logger: Logger;
}

/** The gRPC server of a quorum-mode member: the Cluster service only (see the file comment). */
export function createQuorumGrpcGateway(options: QuorumGrpcOptions): GrpcGateway {
  const server = new GrpcServer({
    maxReceiveMessageBytes: options.maxRequestBytes,
    maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
    recorder: (method) => options.metrics.grpc.recorder(method),
  });
  const cluster = etcdServices().cluster;
  options.metrics.grpc.initialize(Object.values(cluster as Record<string, GrpcMethodShape>));
  const refuse: handleUnaryCall<unknown, JsonBody> = (_call, callback) =>
    callback(grpcErrorOf(quorumMembershipRefused()));
  server.addService(cluster, {
    MemberList: ((_call, callback) => {
      try {
        callback(null, quorumMemberListJson(options.facts));
      } catch (error) {
        options.logger.error({ err: error }, 'gRPC MemberList failed');
        callback(grpcErrorOf(error));
      }
    }) as handleUnaryCall<unknown, JsonBody>,
    MemberAdd: refuse,
    MemberRemove: refuse,
    MemberUpdate: refuse,
    MemberPromote: refuse,
  });
  return {
    injectConnection: (connection: Duplex, tlsSocket?: TLSSocket) =>
      server.injectConnection(connection, tlsSocket),
    close: (graceMs) => {
      server.drain();
      setTimeout(() => server.destroy(), graceMs).unref();
    },
  };
}
