import { createHash } from 'node:crypto';

function first8BytesAsDecimal(digest: Buffer): string {
  return digest.readBigUInt64BE(0).toString(10);
}

/**
 * A member id as etcd computes it for initial members: the first 8 bytes (big-endian) of the
 * SHA-1 of the sorted peer URLs concatenated with the cluster token, as a decimal string.
 */
export function memberIdOf(peerUrls: readonly string[], clusterToken: string): string {
  const hash = createHash('sha1');
  hash.update([...peerUrls].sort().join(''));
  hash.update(clusterToken);
  return first8BytesAsDecimal(hash.digest());
}

/**
 * The id `member add` gives a new member: the first 8 bytes of the SHA-1 of its sorted peer URLs,
 * the cluster token and `salt`, as a decimal string. etcd mixes in the time of the add; kv-node
 * mixes in the leader's applied index, which differs between any two adds of the same peer URLs
 * (the first member must be removed in between), so a member added where a removed one listened
 * gets a fresh id, and the removed id is never reused.
 */
export function addedMemberIdOf(
  peerUrls: readonly string[],
  clusterToken: string,
  salt: number,
): string {
  const hash = createHash('sha1');
  hash.update([...peerUrls].sort().join(''));
  hash.update(clusterToken);
  hash.update(`@${salt}`);
  return first8BytesAsDecimal(hash.digest());
}

/**
 * A cluster id as etcd computes it: the first 8 bytes of the SHA-1 of the member ids (sorted,
 * each as 8 big-endian bytes), as a decimal string.
 */
export function clusterIdOf(memberIds: readonly string[]): string {
  const sorted = [...memberIds]
    .map(BigInt)
    .sort((left, right) => (left < right ? -1 : left > right ? 1 : 0));
  const bytes = Buffer.alloc(8 * sorted.length);
  sorted.forEach((id, index) => bytes.writeBigUInt64BE(id, index * 8));
  return first8BytesAsDecimal(createHash('sha1').update(bytes).digest());
}

/**
 * A member or cluster id (decimal) as etcd prints it in logs and in `etcd_server_id`: lower-case
 * hexadecimal without leading zeros (`types.ID.String()`), e.g. `8e9e05c52164694d`.
 */
export function hexIdOf(decimalId: string): string {
  return BigInt(decimalId).toString(16);
}
