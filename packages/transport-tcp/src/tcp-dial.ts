import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { PeerAddress, TlsOptions } from './tcp-transport.js';

/**
 * Opens the socket a handshake (or an inquiry) starts on: plain TCP with Nagle off, or mutual TLS
 * with this node's certificate. The one place both a peer dial and an inquiry connect, so the two
 * cannot drift apart in how they present themselves or check the acceptor.
 *
 * The host name of a TLS peer is not checked unless `tls.checkServerIdentity` says how: peer
 * identity is the node id the HMAC handshake proves, and the certificate proves membership of
 * the cluster CA.
 *
 * @returns the socket and the event after which the first handshake frame may be written
 *   (`connect`, or `secureConnect` once TLS is up)
 */
export function dialSocket(
  address: PeerAddress,
  tls: TlsOptions | undefined,
): { socket: Socket; readyEvent: 'connect' | 'secureConnect' } {
  if (tls === undefined) {
    return {
      socket: netConnect({ host: address.host, port: address.port, noDelay: true }),
      readyEvent: 'connect',
    };
  }
  return {
    socket: tlsConnect({
      host: address.host,
      port: address.port,
      key: tls.key,
      cert: tls.cert,
      ca: tls.ca,
      checkServerIdentity: tls.checkServerIdentity ?? (() => undefined),
    }),
    readyEvent: 'secureConnect',
  };
}

/** The shared cluster secret as bytes (a string is taken as UTF-8). */
export function secretBytes(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
}
