/** Quorum mode's Prometheus metrics, on the member's registry. */

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** The metrics. */
export class QuorumMetrics {
  /** 1 for the replication mode this member runs (`kv_replication_mode{mode="quorum"}`). */
  readonly mode: Gauge<'mode'>;
  /** 1 while the phi-accrual detector suspects the peer. */
  readonly peerSuspected: Gauge<'peer'>;
  /** The peer's phi (suspicion level), refreshed on each scrape. */
  readonly peerPhi: Gauge<'peer'>;
  /** Timestamps refused because the sender's clock was too far ahead. */
  readonly clockOffsetRefusals: Counter<'peer'>;
  /** Client requests by operation, consistency level and outcome. */
  readonly requests: Counter<'operation' | 'consistency' | 'outcome'>;
  /** Replicas a read found stale (each then repaired). */
  readonly staleReplicas: Counter;
  /** Anti-entropy rounds completed. */
  readonly antiEntropyRounds: Counter;
  /** Entries anti-entropy repaired, pulled here or pushed to a peer. */
  readonly antiEntropyEntries: Counter<'direction'>;
  /** Buckets that differed from the peer in the last round: the repair backlog. */
  readonly antiEntropyDifferingBuckets: Gauge;
  /** Tombstones held (deleted keys not yet collected), refreshed on each scrape. */
  readonly tombstones: Gauge;
  /** Tombstones collected once every member held them. */
  readonly tombstonesCollected: Counter;

  /**
   * @param registry the member's registry
   * @param peers the other members (their gauges start at 0)
   * @param peerGauges the node's per-peer suspicion gauges (see `NodeMetrics`)
   */
  constructor(
    registry: Registry,
    peers: readonly string[],
    peerGauges: { readonly peerSuspected: Gauge<'peer'>; readonly peerPhi: Gauge<'peer'> },
  ) {
    const registers = [registry];
    this.mode = new Gauge({
      name: 'kv_replication_mode',
      help: 'Replication mode of this member (1).',
      labelNames: ['mode'],
      registers,
    });
    this.mode.set({ mode: 'quorum' }, 1);
    // One name per concept across modes: the peer gauges are the node's (`kv_peer_suspected`,
    // `kv_peer_phi`), set here from the quorum member's phi-accrual detector.
    this.peerSuspected = peerGauges.peerSuspected;
    this.peerPhi = peerGauges.peerPhi;
    for (const peer of peers) {
      this.peerSuspected.set({ peer }, 0);
      this.peerPhi.set({ peer }, 0);
    }
    this.clockOffsetRefusals = new Counter({
      name: 'kv_quorum_clock_offset_refusals_total',
      help: 'Peer timestamps refused because they were further ahead than --max-clock-offset.',
      labelNames: ['peer'],
      registers,
    });
    this.requests = new Counter({
      name: 'kv_quorum_requests_total',
      help: 'Client requests in quorum mode by operation, consistency level and outcome.',
      labelNames: ['operation', 'consistency', 'outcome'],
      registers,
    });
    this.staleReplicas = new Counter({
      name: 'kv_quorum_stale_replicas_total',
      help: 'Replicas a read found holding an older value (then read-repaired).',
      registers,
    });
    this.antiEntropyRounds = new Counter({
      name: 'kv_quorum_anti_entropy_rounds_total',
      help: 'Anti-entropy rounds completed.',
      registers,
    });
    this.antiEntropyEntries = new Counter({
      name: 'kv_quorum_anti_entropy_entries_total',
      help: 'Entries anti-entropy repaired: pulled to this member or pushed to a peer.',
      labelNames: ['direction'],
      registers,
    });
    this.antiEntropyDifferingBuckets = new Gauge({
      name: 'kv_quorum_anti_entropy_differing_buckets',
      help: 'Key buckets (of 256) that differed from the peer in the last anti-entropy round.',
      registers,
    });
    this.tombstones = new Gauge({
      name: 'kv_quorum_tombstones',
      help: 'Tombstones held: deleted keys not yet collected.',
      registers,
    });
    this.tombstonesCollected = new Counter({
      name: 'kv_quorum_tombstones_collected_total',
      help: 'Tombstones collected once every member held them and they were older than the grace time.',
      registers,
    });
  }
}
