/**
 * The part of `@x/transport-tcp` that quorum mode uses: requests with answers, one-way
 * heartbeats, and connection events. `TcpTransport` satisfies it.
 */

/** A message and its type tag. */
export interface PeerReply {
  type: number;
  payload: Uint8Array;
}

/** Connection events quorum mode listens to. */
export type PeerEvent = { kind: string; peer?: string | undefined };

/** The narrow port. */
export interface PeerTransport {
  request(
    to: string,
    type: number,
    payload: Uint8Array,
    options?: { timeoutMs?: number },
  ): Promise<PeerReply>;
  onRequest(
    handler: (from: string, type: number, payload: Uint8Array) => PeerReply | Promise<PeerReply>,
  ): void;
  send(to: string, type: number, payload: Uint8Array): void;
  onMessage(handler: (from: string, type: number, payload: Uint8Array) => void): void;
  onEvent(listener: (event: PeerEvent) => void): () => void;
}
