/**
 * The series etcd 3.4 exports under its own names, types and labels, for everything kv-node
 * measures, so that etcd's dashboards and Prometheus alerts (etcd's contrib/mixin) read a kv-node
 * cluster unchanged. Member ids in labels are hexadecimal, as etcd prints them.
 */

import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { ETCD_CLUSTER_VERSION } from '../version.js';

/** `prometheus.ExponentialBuckets(start, 2, count)`, as etcd declares its histograms. */
function doublingBuckets(start: number, count: number): number[] {
  return Array.from({ length: count }, (_, index) => start * 2 ** index);
}

/** etcd's disk histograms: 1 ms to 8 s. */
const DISK_BUCKETS = doublingBuckets(0.001, 14);
/** etcd's peer round-trip histogram: 100 µs to 0.8 s. */
const ROUND_TRIP_BUCKETS = doublingBuckets(0.0001, 14);

/** The cluster version as `etcd_cluster_version` labels it: major.minor (`3.4`). */
const CLUSTER_VERSION_LABEL = ETCD_CLUSTER_VERSION.split('.').slice(0, 2).join('.');

/** etcd's server, network, disk and mvcc series. */
export class EtcdServerMetrics {
  /** `etcd_server_has_leader`: 1 while this member knows a leader. */
  readonly hasLeader: Gauge;
  /** `etcd_server_is_leader`: 1 on the leader. */
  readonly isLeader: Gauge;
  /** `etcd_server_leader_changes_seen_total`. */
  readonly leaderChanges: Counter;
  /** `etcd_server_proposals_committed_total`: the committed log index (a gauge, as in etcd). */
  readonly proposalsCommitted: Gauge;
  /** `etcd_server_proposals_applied_total`: the applied log index (a gauge, as in etcd). */
  readonly proposalsApplied: Gauge;
  /** `etcd_server_proposals_pending`: writes proposed here and waiting for their outcome. */
  readonly proposalsPending: Gauge;
  /** `etcd_server_proposals_failed_total`: writes proposed here that failed. */
  readonly proposalsFailed: Counter;
  /** `etcd_server_quota_backend_bytes`: `--quota-backend-bytes` (its default resolved). */
  readonly quotaBackendBytes: Gauge;
  /** `etcd_server_version{server_version}`: 1 for this member's version. */
  readonly serverVersion: Gauge<'server_version'>;
  /** `etcd_server_id{server_id}`: 1 for this member's id in hexadecimal. */
  readonly serverId: Gauge<'server_id'>;
  /** `etcd_cluster_version{cluster_version}`: 1 for the cluster's API version. */
  readonly clusterVersion: Gauge<'cluster_version'>;
  /** `etcd_network_peer_sent_failures_total{To}`: messages to a peer that were not delivered. */
  readonly peerSentFailures: Counter<'To'>;
  /** `etcd_network_peer_round_trip_time_seconds{To}`: probe round trips to each peer. */
  readonly peerRoundTrip: Histogram<'To'>;
  /** `etcd_disk_wal_fsync_duration_seconds`: write-ahead log appends until durable. */
  readonly walFsyncDuration: Histogram;
  /**
   * `etcd_disk_backend_commit_duration_seconds`: committing applied entries to the backend,
   * which in kv-node is applying them to the in-memory store (there is no bbolt file).
   */
  readonly backendCommitDuration: Histogram;
  /** `etcd_mvcc_db_total_size_in_bytes`: the store's accounted size (what the quota checks). */
  readonly dbTotalSize: Gauge;
  /** `etcd_mvcc_db_total_size_in_use_in_bytes`: the same (kv-node has no free pages). */
  readonly dbTotalSizeInUse: Gauge;
  /** `etcd_debugging_mvcc_keys_total`: keys in the store. */
  readonly keys: Gauge;

  /** Registers every series on `registry`. */
  constructor(registry: Registry) {
    const registers = [registry];
    const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, registers });
    this.hasLeader = gauge(
      'etcd_server_has_leader',
      'Whether or not a leader exists. 1 is existence, 0 is not.',
    );
    this.isLeader = gauge(
      'etcd_server_is_leader',
      'Whether or not this member is a leader. 1 if is, 0 otherwise.',
    );
    this.leaderChanges = new Counter({
      name: 'etcd_server_leader_changes_seen_total',
      help: 'The number of leader changes seen.',
      registers,
    });
    this.proposalsCommitted = gauge(
      'etcd_server_proposals_committed_total',
      'The total number of consensus proposals committed.',
    );
    this.proposalsApplied = gauge(
      'etcd_server_proposals_applied_total',
      'The total number of consensus proposals applied.',
    );
    this.proposalsPending = gauge(
      'etcd_server_proposals_pending',
      'The current number of pending proposals to commit.',
    );
    this.proposalsFailed = new Counter({
      name: 'etcd_server_proposals_failed_total',
      help: 'The total number of failed proposals seen.',
      registers,
    });
    this.quotaBackendBytes = gauge(
      'etcd_server_quota_backend_bytes',
      'Current backend storage quota size in bytes.',
    );
    this.serverVersion = new Gauge({
      name: 'etcd_server_version',
      help: "Which version is running. 1 for 'server_version' label with current version.",
      labelNames: ['server_version'],
      registers,
    });
    this.serverId = new Gauge({
      name: 'etcd_server_id',
      help: "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
      labelNames: ['server_id'],
      registers,
    });
    this.clusterVersion = new Gauge({
      name: 'etcd_cluster_version',
      help: "Which version is running. 1 for 'cluster_version' label with current cluster version",
      labelNames: ['cluster_version'],
      registers,
    });
    this.peerSentFailures = new Counter({
      name: 'etcd_network_peer_sent_failures_total',
      help: 'The total number of send failures from peers.',
      labelNames: ['To'],
      registers,
    });
    this.peerRoundTrip = new Histogram({
      name: 'etcd_network_peer_round_trip_time_seconds',
      help: 'Round-Trip-Time histogram between peers',
      labelNames: ['To'],
      buckets: ROUND_TRIP_BUCKETS,
      registers,
    });
    this.walFsyncDuration = new Histogram({
      name: 'etcd_disk_wal_fsync_duration_seconds',
      help: 'The latency distributions of fsync called by WAL.',
      buckets: DISK_BUCKETS,
      registers,
    });
    this.backendCommitDuration = new Histogram({
      name: 'etcd_disk_backend_commit_duration_seconds',
      help: 'The latency distributions of commit called by backend.',
      buckets: DISK_BUCKETS,
      registers,
    });
    this.dbTotalSize = gauge(
      'etcd_mvcc_db_total_size_in_bytes',
      'Total size of the underlying database physically allocated in bytes.',
    );
    this.dbTotalSizeInUse = gauge(
      'etcd_mvcc_db_total_size_in_use_in_bytes',
      'Total size of the underlying database logically in use in bytes.',
    );
    this.keys = gauge('etcd_debugging_mvcc_keys_total', 'Total number of keys.');
  }

  /** Sets the identity series (one label value each, as etcd does). */
  setIdentity(version: string, memberIdHex: string): void {
    this.serverVersion.reset();
    this.serverVersion.set({ server_version: version }, 1);
    this.serverId.reset();
    this.serverId.set({ server_id: memberIdHex }, 1);
    this.clusterVersion.reset();
    this.clusterVersion.set({ cluster_version: CLUSTER_VERSION_LABEL }, 1);
  }
}
