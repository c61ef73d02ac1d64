/**
 * Operational routes: health and version (etcd's shapes), readiness, liveness and Prometheus
 * metrics.
 */

import { hexIdOf } from '../config/member-id.js';
import { ETCD_CLUSTER_VERSION } from '../version.js';
import type { ApiContext } from './api-context.js';
import type { Exchange } from './exchange.js';
import { readBarrier } from './kv-operations.js';

/**
 * GET /health: `{"health":"true"}` (etcd 3.4's shape) when no alarm is raised, this node has a
 * leader and it can complete a linearizable read in time, else 503 with `"health":"false"` and,
 * beyond etcd 3.4's shape, the reason (etcd 3.5's field: `ALARM NOSPACE`, `RAFT NO LEADER`, ...).
 */
export async function health(context: ApiContext, exchange: Exchange): Promise<void> {
  // As etcd 3.4: any raised alarm (NOSPACE, CORRUPT, or one raised with type NONE) is unhealthy.
  const alarms = context.backend.alarms.list();
  if (alarms.length > 0) {
    const types = [...new Set(alarms.map((member) => member.alarm))].join(',');
    exchange.json(503, { health: 'false', reason: `ALARM ${types}` });
    return;
  }
  const status = context.backend.status();
  if (status.leaderId === undefined) {
    exchange.json(503, { health: 'false', reason: 'RAFT NO LEADER' });
    return;
  }
  try {
    await readBarrier(context);
    exchange.json(200, { health: 'true' });
  } catch (error) {
    exchange.json(503, { health: 'false', reason: (error as Error).message });
  }
}

/** GET /readyz: 200 when this node knows a leader and is not shutting down, else 503. */
export function readyz(context: ApiContext, exchange: Exchange): Promise<void> {
  const status = context.backend.status();
  const ready = status.leaderId !== undefined && !context.isShuttingDown();
  exchange.send(ready ? 200 : 503, ready ? 'ok\n' : 'not ready\n', {
    'content-type': 'text/plain; charset=utf-8',
  });
  return Promise.resolve();
}

/** GET /livez: 200 while the process serves HTTP. */
export function livez(_context: ApiContext, exchange: Exchange): Promise<void> {
  exchange.send(200, 'ok\n', { 'content-type': 'text/plain; charset=utf-8' });
  return Promise.resolve();
}

/** Sets the gauges that read the member's state, as of this scrape. */
function refreshGauges(context: ApiContext): void {
  const status = context.backend.status();
  const store = context.backend.store;
  const etcd = context.metrics.etcd;
  context.metrics.hasLeader.set(status.leaderId === undefined ? 0 : 1);
  context.metrics.isLeader.set(status.role === 'leader' ? 1 : 0);
  context.metrics.keys.set(store.size);
  etcd.keys.set(store.size);
  etcd.proposalsCommitted.set(status.highWaterMark);
  etcd.proposalsApplied.set(status.appliedIndex);
  // The LMDB file's size and use with --backend lmdb; in memory, the size the quota checks.
  const disk = context.backend.diskUsage?.();
  etcd.dbTotalSize.set(disk?.fileBytes ?? store.accountedBytes);
  etcd.dbTotalSizeInUse.set(disk?.inUseBytes ?? store.accountedBytes);
  etcd.quotaBackendBytes.set(context.quotaBackendBytes ?? 0);
  etcd.setIdentity(context.version, hexIdOf(status.memberId));
}

/** GET /metrics: the Prometheus text format. */
export async function metrics(context: ApiContext, exchange: Exchange): Promise<void> {
  refreshGauges(context);
  const status = context.backend.status();
  // Only the peers this node watches now have a value (roles change which ones it watches).
  context.metrics.peerSuspected.reset();
  context.metrics.peerPhi.reset();
  for (const member of status.members) {
    if (member.suspected === undefined) continue;
    context.metrics.peerSuspected.set({ peer: member.name }, member.suspected ? 1 : 0);
    if (member.phi !== undefined) context.metrics.peerPhi.set({ peer: member.name }, member.phi);
  }
  const registry = context.metrics.registry;
  exchange.send(200, await registry.metrics(), { 'content-type': registry.contentType });
}

/**
 * GET /version: etcd's `{"etcdserver": ..., "etcdcluster": ...}` (see `version.ts` for the
 * strings).
 */
export function version(context: ApiContext, exchange: Exchange): Promise<void> {
  exchange.json(200, { etcdserver: context.version, etcdcluster: ETCD_CLUSTER_VERSION });
  return Promise.resolve();
}

/** GET /dashboard: the old page's address; the live dashboard is at `/ui/` (308 redirect). */
export function dashboard(_context: ApiContext, exchange: Exchange): Promise<void> {
  exchange.send(308, '', { location: '/ui/' });
  return Promise.resolve();
}
