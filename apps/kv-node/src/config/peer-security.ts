/** Which peer URLs are loopback, and when a member must have a peer secret or peer TLS. */

import { ConfigError } from './config-error.js';

/**
 * True when `url`'s host is a loopback address (127.0.0.0/8, `::1`) or `localhost`: only
 * processes on this machine can reach it.
 */
export function isLoopbackUrl(url: string | URL): boolean {
  const host = (typeof url === 'string' ? new URL(url) : url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The peer settings {@link checkPeerAuthentication} looks at. */
export interface PeerAuthenticationSettings {
  listenPeerUrl: URL;
  advertisePeerUrls: readonly string[];
  memberPeerUrls: readonly string[];
  memberCount: number;
  hasSecretFile: boolean;
  hasPeerTls: boolean;
}

/**
 * Refuses a configuration whose peers would authenticate with nothing secret. A secret file or
 * peer TLS is required whenever any peer URL (listen, advertised, or in `--initial-cluster`) is
 * not loopback, and for any cluster of more than one member: members must share a secret, and
 * none is ever derived from public data (the cluster token can be confirmed offline from the
 * member ids `/v3/cluster/member/list` publishes). A lone loopback member needs neither: it has
 * no peer, and refuses every peer connection with a random secret of its own.
 *
 * @throws ConfigError naming `--peer-secret-file`, the URL at fault and how to fix it
 */
export function checkPeerAuthentication(settings: PeerAuthenticationSettings): void {
  if (settings.hasSecretFile || settings.hasPeerTls) return;
  const fix =
    'pass --peer-secret-file (a file, mode 0600, holding at least 16 random characters, ' +
    'e.g. `head -c 32 /dev/urandom | base64 > peer-secret && chmod 600 peer-secret`, the same ' +
    'file for every member) or peer TLS (--peer-cert-file, --peer-key-file, ' +
    '--peer-trusted-ca-file with https:// peer URLs)';
  const urls = [
    settings.listenPeerUrl.href,
    ...settings.advertisePeerUrls,
    ...settings.memberPeerUrls,
  ];
  const exposed = urls.find((url) => !isLoopbackUrl(url));
  if (exposed !== undefined) {
    throw new ConfigError(
      'peer-secret-file',
      `required: peer URL ${exposed} is not loopback, and without a secret anyone who reaches ` +
        `the peer port could read, rewrite or forge replication traffic; ${fix}`,
    );
  }
  if (settings.memberCount > 1) {
    throw new ConfigError(
      'peer-secret-file',
      `required: the ${settings.memberCount} members must share a secret to authenticate each ` +
        `other, and kv-node never derives one from public data; ${fix} ` +
        '(`kv-node cluster` creates one for its members)',
    );
  }
}
