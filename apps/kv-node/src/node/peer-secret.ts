/** The secret that authenticates and seals this member's peer connections. */

import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { NodeConfig } from '../config/node-config.js';
import type { Logger } from '../logging/logger.js';
import { StartupError } from './startup-error.js';

/** The shortest secret accepted from `--peer-secret-file`, in characters. */
export const MIN_PEER_SECRET_CHARS = 16;

/**
 * Resolves the peer secret:
 * - from `--peer-secret-file` (trimmed; at least {@link MIN_PEER_SECRET_CHARS} characters; a
 *   file readable by group or others is used but warned about);
 * - with peer TLS and no secret file, a fixed label that is not secret: the certificates of the
 *   cluster CA are then what authenticates peers, and the transport's own record keys protect
 *   nothing TLS does not already protect;
 * - otherwise (configuration validation allows it only for a lone loopback member, which has no
 *   peer) a random secret of this process, so every peer connection is refused.
 *
 * Never derived from the cluster token or anything else public.
 *
 * @throws StartupError when the secret file cannot be read or is too short
 */
export function resolvePeerSecret(config: NodeConfig, logger: Logger): string {
  const path = config.peerSecretFile;
  if (path !== undefined) {
    let text: string;
    let mode: number;
    try {
      text = readFileSync(path, 'utf8');
      mode = statSync(path).mode;
    } catch (error) {
      throw new StartupError(
        `--peer-secret-file: cannot read ${path}: ${(error as Error).message}`,
      );
    }
    const secret = text.trim();
    if (secret.length < MIN_PEER_SECRET_CHARS) {
      throw new StartupError(
        `--peer-secret-file: ${path} must hold at least ${MIN_PEER_SECRET_CHARS} characters ` +
          '(e.g. `head -c 32 /dev/urandom | base64`)',
      );
    }
    if ((mode & 0o077) !== 0) {
      logger.warn(
        { path, mode: (mode & 0o777).toString(8) },
        '--peer-secret-file is readable by other users; chmod 600 it',
      );
    }
    return secret;
  }
  if (config.peerTls !== undefined) {
    logger.info(
      {},
      'no --peer-secret-file: peer TLS certificates authenticate peers; add a secret file so that a holder of another cluster certificate cannot impersonate a member',
    );
    return `kv-node:peer-tls-only:${config.clusterId}`;
  }
  return randomBytes(32).toString('base64');
}

/**
 * The secret a process that is not a peer yet proves to ask a member (see join-cluster.ts): the
 * peer secret, except where that is the TLS-only label, which names the cluster id a joining
 * member has yet to learn; there the cluster CA's certificates authenticate it, as they do peers.
 *
 * @param peerSecret resolves the peer secret (called only when it is the answer)
 */
export function inquirySecretFor(config: NodeConfig, peerSecret: () => string): string {
  return config.peerSecretFile === undefined && config.peerTls !== undefined
    ? 'kv-node:peer-tls-only'
    : peerSecret();
}
