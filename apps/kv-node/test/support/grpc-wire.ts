/**
 * gRPC requests built by hand, for the bad-input suites that speak HTTP/2 themselves: etcd's KV
 * messages serialized from the gateway's shapes, and gRPC's length-prefixed framing with a
 * length that may lie.
 */

import { etcdServices } from '../../src/grpc/etcd-proto.js';

/** The protobuf bytes of a KV request (`Put`, `Range`, ...) given in the gateway's shapes. */
export function kvRequestBytes(method: string, request: unknown): Buffer {
  const definition = etcdServices().kv[method] as unknown as
    { requestSerialize: (value: unknown) => Buffer } | undefined;
  if (definition === undefined) throw new Error(`KV has no method ${method}`);
  return definition.requestSerialize(request);
}

/**
 * A gRPC message: the 5-byte prefix (compressed flag, length) and the bytes. `claimed` replaces
 * the length the prefix states (a lie, for the bound checks).
 */
export function grpcMessage(
  bytes: Buffer,
  options: { compressed?: boolean; claimed?: number } = {},
): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = options.compressed === true ? 1 : 0;
  prefix.writeUInt32BE(options.claimed ?? bytes.length, 1);
  return Buffer.concat([prefix, bytes]);
}
