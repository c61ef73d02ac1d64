/**
 * The node's Prometheus metrics: etcd's own series under etcd's names (`etcd-server-metrics.ts`,
 * `grpc-server-metrics.ts`), so etcd's dashboards and alerts carry over, and kv-node's own under a
 * `kv_` prefix where they measure something etcd does not or with other labels or buckets. Each
 * node owns its own registry (no global state), which also keeps tests independent.
 */

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { EtcdServerMetrics } from './etcd-server-metrics.js';
import { GrpcServerMetrics } from './grpc-server-metrics.js';

/** Latency buckets in seconds, from 100 µs to 8 s. */
const LATENCY_BUCKETS = [
  0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512,
  1.024, 2.048, 4.096, 8.192,
];

/** Options of {@link NodeMetrics}. */
export interface NodeMetricsOptions {
  /** Also collect Node.js process metrics (CPU, memory, event loop lag). Default true. */
  processMetrics?: boolean;
}

/** Every metric the node exports, on one registry. */
export class NodeMetrics {
  /** The registry `/metrics` renders. */
  readonly registry = new Registry();
  /** etcd's server, network, disk and mvcc series. */
  readonly etcd = new EtcdServerMetrics(this.registry);
  /** go-grpc-prometheus's series, recorded by its interceptor. */
  readonly grpc = new GrpcServerMetrics(this.registry);
  /** HTTP request durations in seconds, by route pattern, method and status. */
  readonly requestDuration: Histogram<'route' | 'method' | 'status'>;
  /** Writes committed and applied. */
  readonly proposalsCommitted: Counter;
  /** Writes that failed (definitely or indeterminately), by reason. */
  readonly proposalsFailed: Counter<'reason'>;
  /** Writes waiting for commit (etcd's `etcd_server_proposals_pending`). */
  readonly proposalsPending: Gauge;
  /** Seconds to apply one command to the state machine. */
  readonly applyDuration: Histogram;
  /** Seconds from appending entries to the write-ahead log until they are durable (fdatasync). */
  readonly fsyncDuration: Histogram;
  /** Leader changes this node has seen (etcd's `etcd_server_leader_changes_seen_total`). */
  readonly leaderChanges: Counter;
  /**
   * Followers found, while this node led, to have lost entries they had acknowledged (a member
   * restarted on a damaged or emptied data directory), by member name.
   */
  readonly lostAcknowledgedEntries: Counter<'member'>;
  /** Peer round-trip time in seconds (forwarded requests and replication acknowledgements). */
  readonly peerRoundTrip: Histogram<'peer'>;
  /**
   * Peer connections closed because a record failed authentication (altered, replayed,
   * reordered or truncated on the wire, or sealed with another key): an on-path tamperer.
   */
  readonly peerIntegrityFailures: Counter<'peer'>;
  /** 1 when this node knows a leader, else 0 (etcd's `etcd_server_has_leader`). */
  readonly hasLeader: Gauge;
  /** 1 on the leader, else 0 (etcd's `etcd_server_is_leader`). */
  readonly isLeader: Gauge;
  /** Keys in the store. */
  readonly keys: Gauge;
  /** Per peer: 1 while this node's failure detector suspects it (`--failure-detector`). */
  readonly peerSuspected: Gauge<'peer'>;
  /** Per peer: its phi, with `--failure-detector phi`. */
  readonly peerPhi: Gauge<'peer'>;
  /**
   * Ranges of write transactions applied here, by outcome: `read` (materialized for a client
   * waiting on this member) or `not_read` (no client waits here, or the read budget ran out).
   */
  readonly txnRanges: Counter<'outcome'>;

  /** @param options see {@link NodeMetricsOptions}. */
  constructor(options: NodeMetricsOptions = {}) {
    const registers = [this.registry];
    this.requestDuration = new Histogram({
      name: 'kv_http_request_duration_seconds',
      help: 'HTTP request durations by route, method and status.',
      labelNames: ['route', 'method', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.proposalsCommitted = new Counter({
      name: 'kv_server_proposals_committed_total',
      help: 'Writes committed and applied.',
      registers,
    });
    this.proposalsFailed = new Counter({
      name: 'kv_server_proposals_failed_total',
      help: 'Writes that failed, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.proposalsPending = this.etcd.proposalsPending;
    this.applyDuration = new Histogram({
      name: 'kv_server_apply_duration_seconds',
      help: 'Time to apply one command to the state machine.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.fsyncDuration = new Histogram({
      name: 'kv_disk_wal_fsync_duration_seconds',
      help: 'Seconds from a write-ahead log append until it is durable (fdatasync, group commit).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.leaderChanges = this.etcd.leaderChanges;
    this.lostAcknowledgedEntries = new Counter({
      name: 'kv_server_followers_lost_acknowledged_entries_total',
      help: 'Followers that rejected entries they had acknowledged to this leader (lost their data); no longer counted for quorum while this node leads.',
      labelNames: ['member'],
      registers,
    });
    this.peerRoundTrip = new Histogram({
      name: 'kv_network_peer_round_trip_time_seconds',
      help: 'Round-trip time to peers.',
      labelNames: ['peer'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.peerIntegrityFailures = new Counter({
      name: 'kv_network_peer_integrity_failures_total',
      help: 'Peer connections closed because a record failed authentication (tampering on the wire).',
      labelNames: ['peer'],
      registers,
    });
    this.hasLeader = this.etcd.hasLeader;
    this.isLeader = this.etcd.isLeader;
    this.keys = new Gauge({ name: 'kv_store_keys', help: 'Keys in the store.', registers });
    this.peerSuspected = new Gauge({
      name: 'kv_peer_suspected',
      help: "Whether this node's failure detector suspects the peer (1) or not (0): a leader watches its followers, a follower its leader.",
      labelNames: ['peer'],
      registers,
    });
    this.peerPhi = new Gauge({
      name: 'kv_peer_phi',
      help: 'Suspicion level (phi) of the peer, with the phi-accrual failure detector.',
      labelNames: ['peer'],
      registers,
    });
    this.txnRanges = new Counter({
      name: 'kv_txn_ranges_applied_total',
      help: 'Ranges of write txns applied here: read for a waiting client, or not_read.',
      labelNames: ['outcome'],
      registers,
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }
}
