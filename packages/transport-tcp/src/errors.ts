/** Base class of every error this package raises; `code` is stable and safe to switch on. */
export class TransportError extends Error {
  /** A stable machine-readable code such as `'TRANSPORT_TIMEOUT'`. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A request got no response within its timeout. The request may or may not have been delivered
 * and handled by the peer: treat the outcome as unknown.
 */
export class TransportTimeoutError extends TransportError {
  /** The peer the request was sent to. */
  readonly peer: string;
  /** The timeout that expired, in milliseconds. */
  readonly timeoutMs: number;

  constructor(peer: string, timeoutMs: number) {
    super(
      'TRANSPORT_TIMEOUT',
      `request to ${peer} timed out after ${timeoutMs} ms; it may or may not have been delivered and handled`,
    );
    this.peer = peer;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The connection to a peer was lost while a request was written and awaiting its response. The
 * request may or may not have been delivered and handled by the peer.
 */
export class ConnectionLostError extends TransportError {
  /** The peer the request was sent to. */
  readonly peer: string;

  constructor(peer: string, reason: string) {
    super(
      'CONNECTION_LOST',
      `connection to ${peer} lost (${reason}); the request may or may not have been delivered and handled`,
    );
    this.peer = peer;
  }
}

/**
 * The per-peer queue bound (messages or bytes) was reached, so the request was not sent. This is
 * definite: the peer never saw it.
 */
export class QueueFullError extends TransportError {
  /** The peer whose queue is full. */
  readonly peer: string;

  constructor(peer: string, limit: string) {
    super('QUEUE_FULL', `queue to ${peer} is full (${limit}); the request was not sent`);
    this.peer = peer;
  }
}

/** The transport was closed (or never knew the peer) before the request could be sent. Definite. */
export class TransportClosedError extends TransportError {
  constructor(message = 'transport is closed; the request was not sent') {
    super('TRANSPORT_CLOSED', message);
  }
}

/** The destination is not in the configured peer list. Definite: nothing was sent. */
export class UnknownPeerError extends TransportError {
  /** The unknown node id. */
  readonly peer: string;

  constructor(peer: string) {
    super('UNKNOWN_PEER', `unknown peer ${JSON.stringify(peer)}; the request was not sent`);
    this.peer = peer;
  }
}

/**
 * The peer received the request but its handler failed (threw, or no handler is registered).
 * `message` carries the peer's description.
 */
export class RemoteHandlerError extends TransportError {
  /** The peer whose handler failed. */
  readonly peer: string;

  constructor(peer: string, remoteMessage: string) {
    super('REMOTE_HANDLER_FAILED', `request handler on ${peer} failed: ${remoteMessage}`);
    this.peer = peer;
  }
}

/** Why a handshake was refused; also the key of the rejection counters in the metrics. */
export type HandshakeRejection =
  | 'malformed'
  | 'wrong-version'
  | 'wrong-cluster'
  | 'unknown-node'
  | 'wrong-direction'
  | 'wrong-peer'
  | 'bad-proof'
  | 'timeout'
  | 'closed'
  | 'tls'
  | 'too-many-pending';

/** A handshake failed: the peer is not part of this cluster, is misconfigured or is an impostor. */
export class HandshakeError extends TransportError {
  /** Why the handshake was refused. */
  readonly reason: HandshakeRejection;

  constructor(reason: HandshakeRejection, detail: string) {
    super('HANDSHAKE_REJECTED', `handshake rejected (${reason}): ${detail}`);
    this.reason = reason;
  }
}

/**
 * The peer broke the wire protocol (bad version byte, unknown flags, malformed control frame). The
 * connection is closed; the process stays up.
 */
export class ProtocolError extends TransportError {
  constructor(message: string, code = 'PROTOCOL_ERROR') {
    super(code, message);
  }
}

/** A frame claimed a payload larger than the configured maximum; rejected before allocation. */
export class FrameTooLargeError extends ProtocolError {
  /** The payload length the frame claimed, in bytes. */
  readonly claimedBytes: number;
  /** The configured maximum payload, in bytes. */
  readonly maxBytes: number;

  constructor(claimedBytes: number, maxBytes: number) {
    super(
      `frame claims ${claimedBytes} payload bytes; the maximum is ${maxBytes}`,
      'FRAME_TOO_LARGE',
    );
    this.claimedBytes = claimedBytes;
    this.maxBytes = maxBytes;
  }
}

/**
 * An authenticated connection received a record that failed authentication: it was altered,
 * replayed, reordered, truncated, or sealed with another key. Nothing of it was delivered; the
 * connection is closed.
 */
export class IntegrityError extends ProtocolError {
  constructor(message: string) {
    super(message, 'INTEGRITY_FAILURE');
  }
}
