import type { AuthGate } from '../auth/auth-gate.js';
import type { Logger } from '../logging/logger.js';
import type { NodeMetrics } from '../metrics/node-metrics.js';
import type { ApiLimits } from './api-limits.js';
import type { KvBackend } from './kv-backend.js';

/** Callbacks on real or virtual time. */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What every route handler needs. */
export interface ApiContext {
  backend: KvBackend;
  /** Who a request comes from and what it may touch (see `auth/`). */
  auth: AuthGate;
  limits: ApiLimits;
  metrics: NodeMetrics;
  logger: Logger;
  timers: Timers;
  /** Longest wait for a write or linearizable read before answering 504 / 503, in ms. */
  operationTimeoutMs: number;
  /**
   * The version reported where etcd reports its own: `/version`, `Maintenance.Status`,
   * `etcd_server_version` (a member reports `ETCD_SERVER_VERSION`).
   */
  version: string;
  /** Whether the node is shutting down (new requests get 503). */
  isShuttingDown(): boolean;
  /**
   * etcd's minimum lease TTL in seconds for this member's timing (see `lease/lease-limits.ts`);
   * default 2, etcd's with its default timing.
   */
  minLeaseTtlSeconds?: number;
  /**
   * etcd's `--quota-backend-bytes`: once the store's accounted size passes it, writes that add
   * data raise the NOSPACE alarm and are refused. `undefined`: no quota.
   */
  quotaBackendBytes?: number;
  /** Interval of watch progress notifications in ms (etcd's default: 10 minutes). */
  watchProgressIntervalMs?: number;
}
