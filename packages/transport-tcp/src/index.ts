export { TcpTransport } from './tcp-transport.js';
export { inquire, InquiryFailedError } from './tcp-inquiry.js';
export type { InquiryOptions } from './tcp-inquiry.js';
export type {
  PeerAddress,
  RequestOptions,
  TcpTransportOptions,
  TlsOptions,
  TransportEvent,
} from './tcp-transport.js';
export type {
  MessageHandler,
  Reply,
  RequestHandler,
  UndeliveredHandler,
  UndeliveredMessage,
  UndeliveredReason,
} from './types.js';
export {
  ConnectionLostError,
  FrameTooLargeError,
  HandshakeError,
  ProtocolError,
  QueueFullError,
  RemoteHandlerError,
  TransportClosedError,
  TransportError,
  TransportTimeoutError,
  UnknownPeerError,
} from './errors.js';
export type { HandshakeRejection } from './errors.js';
export type { PeerMetrics, TransportCounters, TransportMetrics } from './metrics.js';
export type { BackoffOptions } from './backoff.js';
export { backoffDelayMs } from './backoff.js';
export { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, PROTOCOL_VERSION } from './frame.js';
export type { Clock, Logger, Random, Timers } from './ports.js';
export { silentLogger } from './ports.js';
export { nodeClock, nodeTimers } from './node-clock.js';
export { nodeRandom, secureRandomBytes } from './node-random.js';
