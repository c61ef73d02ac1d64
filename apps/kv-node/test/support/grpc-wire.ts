/**
 * gRPC requests built by hand, for the bad-input suites (and benches) that speak HTTP/2
 * themselves: etcd's KV messages serialized from the gateway's shapes, gRPC's length-prefixed
 * framing with a length that may lie, and raw HTTP/2 frames.
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

/**
 * An HTTP/2 frame (RFC 9113 §4.1): the 9-byte header (24-bit payload length, type, flags, stream
 * id) and the payload.
 */
export function http2Frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}
