/**
 * Coordination recipes over etcd's v3 JSON gateway (kv-node's, or etcd 3.4's): a lease kept
 * alive, a distributed lock with fencing tokens, and leader election, each built only from lease
 * + txn on create revision + watch of the predecessor key. See docs/guides/coordination-recipes.md.
 */
export { EtcdError, EtcdJsonClient, fromBase64, prefixEnd, toBase64 } from './etcd-json-client.js';
export type { EtcdJsonClientOptions, GatewayHeader, GatewayKeyValue } from './etcd-json-client.js';
export { LeaseKeeper } from './lease-keeper.js';
export { DistributedLock, LockLostError } from './lock.js';
export type { GatewayCompare, HeldLock, LockOptions } from './lock.js';
export { LeaderElection } from './election.js';
export type { ElectedLeader } from './election.js';
