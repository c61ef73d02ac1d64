import { createHash } from 'node:crypto';

/**
 * A member id as etcd (and kv-node) compute it for initial members: the first 8 bytes of the
 * SHA-1 of the sorted peer URLs followed by the cluster token, as a decimal string. The proxy uses
 * it to recognise which node dialed a shared listener.
 */
export function memberIdOf(peerUrls: readonly string[], clusterToken: string): string {
  const hash = createHash('sha1');
  hash.update([...peerUrls].sort().join(''));
  hash.update(clusterToken);
  return hash.digest().readBigUInt64BE(0).toString(10);
}
