/**
 * The peer Transport port (shared shape with `@x/leader-follower`, `@x/transport-tcp` and
 * `@x/simulation`): ordered one-way messages per peer, lossy when a peer is unreachable.
 */
export interface Transport {
  /** One-way message to a peer; never throws for connectivity (undeliverable messages drop). */
  send(to: string, type: number, payload: Uint8Array): void;
  /** The single handler for inbound messages. */
  onMessage(handler: (from: string, type: number, payload: Uint8Array) => void): void;
}

/**
 * kv-node's share of the peer transport. It also hears when the replication protocol is about to
 * send to a peer, so that kv-node's own queued messages for that peer can join the same socket
 * write instead of costing one of their own (optional: test transports may leave it out).
 */
export interface NodeTransport extends Transport {
  /** Registers the callback run just before each replication message, with its destination. */
  beforeReplicationSend?(hook: (to: string) => void): void;
}

/** First message type kv-node reserves for itself on the peer transport (0xff00-0xffff). */
export const KV_NODE_MESSAGE_TYPE_BASE = 0xff00;

/**
 * Shares one peer transport between the replication protocol and kv-node's own messages
 * (forwarded writes and reads): messages with a type at or above
 * {@link KV_NODE_MESSAGE_TYPE_BASE} go to `node`, all others to `replication`.
 */
export function splitTransport(transport: Transport): {
  replication: Transport;
  node: NodeTransport;
} {
  let replicationHandler: ((from: string, type: number, payload: Uint8Array) => void) | undefined;
  let nodeHandler: ((from: string, type: number, payload: Uint8Array) => void) | undefined;
  transport.onMessage((from, type, payload) => {
    if (type >= KV_NODE_MESSAGE_TYPE_BASE) nodeHandler?.(from, type, payload);
    else replicationHandler?.(from, type, payload);
  });
  let beforeReplicationSend: ((to: string) => void) | undefined;
  const send = (to: string, type: number, payload: Uint8Array): void =>
    transport.send(to, type, payload);
  return {
    replication: {
      send: (to, type, payload) => {
        beforeReplicationSend?.(to);
        transport.send(to, type, payload);
      },
      onMessage: (handler) => {
        replicationHandler = handler;
      },
    },
    node: {
      send,
      onMessage: (handler) => {
        nodeHandler = handler;
      },
      beforeReplicationSend: (hook) => {
        beforeReplicationSend = hook;
      },
    },
  };
}
