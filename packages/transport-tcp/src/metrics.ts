import type { HandshakeRejection } from './errors.js';

/** Counters since the transport started. Byte counts are wire bytes including frame headers. */
export interface TransportCounters {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  /**
   * Sealed records authenticated and opened. Frames travel many to a record: frames per record
   * says how well writes are coalesced.
   */
  recordsIn: number;
  /** Sealed records written; a record of up to 16 KiB is one socket write of one buffer. */
  recordsOut: number;
  /**
   * Writes handed to the sockets, each one system call when the kernel takes it at once: a
   * handshake frame, a record of one buffer, or the corked pieces of a larger record. Writes per
   * message sent is what coalescing saves.
   */
  socketWrites: number;
  /** Outbound connection attempts after the first one to a peer. */
  reconnects: number;
  /** Connections that completed the handshake, both directions. */
  handshakesCompleted: number;
  /** Refused handshakes by reason (both roles). */
  handshakesRejected: Record<HandshakeRejection, number>;
  /** Authenticated connections closed for breaking the protocol (oversized frame, bad flags...). */
  protocolErrors: number;
  /**
   * Authenticated connections closed because a record failed authentication: altered, replayed,
   * reordered, truncated or sealed with another key. Nothing of such a record is delivered.
   */
  integrityFailures: number;
  /** One-way messages reported undelivered (queue full, lost with a connection, closed). */
  messagesUndelivered: number;
  requestsTimedOut: number;
  /** Responses that arrived after their request timed out or was rejected. */
  lateResponses: number;
  /** Exceptions thrown by the message handler (logged and counted, never fatal). */
  handlerErrors: number;
}

/** Per-peer gauges. */
export interface PeerMetrics {
  connected: boolean;
  /** Messages queued or written but not yet acknowledged, counted against the queue bound. */
  queuedMessages: number;
  /** Payload bytes of those messages. */
  queuedBytes: number;
  /** Requests written and awaiting a response (bounded by the in-flight window). */
  inFlightRequests: number;
  /** One-way messages written but not yet acknowledged by the peer. */
  unacknowledged: number;
  /** Bytes handed to the socket that it has not yet passed to the kernel (0 when disconnected). */
  socketBufferedBytes: number;
}

/** A snapshot of the transport's counters and per-peer gauges, e.g. for a `/metrics` endpoint. */
export interface TransportMetrics extends TransportCounters {
  /** Sockets currently open, authenticated or still in their handshake. */
  openConnections: number;
  peers: Record<string, PeerMetrics>;
}

/** Fresh zeroed counters. */
export function createCounters(): TransportCounters {
  return {
    bytesIn: 0,
    bytesOut: 0,
    framesIn: 0,
    framesOut: 0,
    recordsIn: 0,
    recordsOut: 0,
    socketWrites: 0,
    reconnects: 0,
    handshakesCompleted: 0,
    handshakesRejected: {
      malformed: 0,
      'wrong-version': 0,
      'wrong-cluster': 0,
      'unknown-node': 0,
      'wrong-direction': 0,
      'wrong-peer': 0,
      'bad-proof': 0,
      timeout: 0,
      closed: 0,
      tls: 0,
      'too-many-pending': 0,
    },
    protocolErrors: 0,
    integrityFailures: 0,
    messagesUndelivered: 0,
    requestsTimedOut: 0,
    lateResponses: 0,
    handlerErrors: 0,
  };
}
