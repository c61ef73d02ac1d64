/**
 * The wire frame. Every frame is a fixed 12-byte big-endian header followed by the payload
 * (handshake frames travel as they are; after the handshake frames travel inside sealed records,
 * see `record.ts`):
 *
 * ```
 *  0               4       5       6               8                               12
 * +---------------+-------+-------+---------------+-------------------------------+----------
 * | payload length| version| flags| type (u16)    | correlation id / sequence (u32)| payload…
 * +---------------+-------+-------+---------------+-------------------------------+----------
 * ```
 */

/** Bytes in a frame header. */
export const FRAME_HEADER_BYTES = 12;

/**
 * The wire protocol version carried in every frame header and checked on every frame. Version 2
 * (the dialer proves first; every frame after the handshake is sealed in an AEAD record) and
 * version 1 refuse each other at the first frame with `wrong-version`.
 */
export const PROTOCOL_VERSION = 2;

/** The default maximum payload of one frame: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Frame flag bits. A frame with no flag bit set is a one-way message. */
export const FrameFlags = {
  /** A request; the correlation id names it and the response carries the same id. */
  request: 1,
  /** A response to the request with the same correlation id. */
  response: 2,
  /** With `response`: the peer's handler failed; the payload is a UTF-8 description. */
  error: 4,
  /** A transport control frame (handshake, acknowledgement); `type` is a {@link ControlType}. */
  control: 8,
} as const;

/** Every flag bit this version understands; a frame with any other bit set is a protocol error. */
export const KNOWN_FLAGS =
  FrameFlags.request | FrameFlags.response | FrameFlags.error | FrameFlags.control;

/** The `type` of control frames. */
export const ControlType = {
  hello: 1,
  challenge: 2,
  proof: 3,
  welcome: 4,
  /** Cumulative acknowledgement of one-way messages; the correlation field is the last sequence. */
  acknowledge: 5,
  /**
   * A one-shot question from a process that is not a peer yet (a member joining the cluster):
   * a hello with empty cluster and acceptor ids. See `tcp-inquiry.ts`.
   */
  inquiry: 6,
  /** The acceptor's answer to an authenticated inquiry, MAC'd with the secret; then it closes. */
  answer: 7,
} as const;

/** Writes a frame header into `target` at `offset` (plain byte stores: this is the hot path). */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  payloadLength: number,
  flags: number,
  type: number,
  correlation: number,
): void {
  target[offset] = payloadLength >>> 24;
  target[offset + 1] = payloadLength >>> 16;
  target[offset + 2] = payloadLength >>> 8;
  target[offset + 3] = payloadLength;
  target[offset + 4] = PROTOCOL_VERSION;
  target[offset + 5] = flags;
  target[offset + 6] = type >>> 8;
  target[offset + 7] = type;
  target[offset + 8] = correlation >>> 24;
  target[offset + 9] = correlation >>> 16;
  target[offset + 10] = correlation >>> 8;
  target[offset + 11] = correlation;
}

/** A whole control frame (header, then `payload`) in one buffer: the handshake's plain frames. */
export function encodeControlFrame(type: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  writeFrameHeader(frame, 0, payload.byteLength, FrameFlags.control, type, 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}
