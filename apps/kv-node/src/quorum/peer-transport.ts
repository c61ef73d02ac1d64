/**
 * The part of `@x/transport-tcp` a coordinator uses to reach its peers: requests with answers.
 * `TcpTransport` satisfies it.
 */

/** A message and its type tag. */
export interface PeerReply {
  type: number;
  payload: Uint8Array;
}

/** The narrow port. */
export interface PeerTransport {
  /** Sends a request and resolves with the peer's answer; rejects on timeout or a lost peer. */
  request(
    to: string,
    type: number,
    payload: Uint8Array,
    options?: { timeoutMs?: number },
  ): Promise<PeerReply>;
}
