/** A message or response: an opaque payload tagged with a 16-bit type chosen by the user. */
export interface Reply {
  /** Unsigned 16-bit message-type tag. */
  type: number;
  /** Opaque bytes. The transport may keep a reference until it is written: do not modify it. */
  payload: Uint8Array;
}

/** Handles one inbound one-way message. The handler owns `payload`. */
export type MessageHandler = (from: string, type: number, payload: Uint8Array) => void;

/**
 * Answers one inbound request. Throwing or rejecting sends an error response: the requester's
 * promise rejects with `RemoteHandlerError` carrying the error's message.
 */
export type RequestHandler = (
  from: string,
  type: number,
  payload: Uint8Array,
) => Reply | Promise<Reply>;

/** Why a one-way message may not have reached its peer. */
export type UndeliveredReason = 'queue-full' | 'connection-lost' | 'peer-restarted' | 'closed';

/** A one-way message the transport could not confirm as delivered. */
export interface UndeliveredMessage {
  /** The message-type tag given to `send`. */
  type: number;
  /** The payload given to `send`. */
  payload: Uint8Array;
  /** Why it is reported. */
  reason: UndeliveredReason;
  /**
   * False when the message definitely did not reach the peer (never written, or the peer confirmed
   * it had not received it); true when the outcome is unknown (the peer restarted, or the transport
   * closed before the peer acknowledged it).
   */
  maybeDelivered: boolean;
}

/** Receives one-way messages to `peer` that were dropped or lost, in the order they were sent. */
export type UndeliveredHandler = (peer: string, messages: UndeliveredMessage[]) => void;
