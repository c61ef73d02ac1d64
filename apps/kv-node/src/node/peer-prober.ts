/**
 * Measures the round trip to each peer as etcd's rafthttp prober does: a small request to every
 * peer at a fixed interval, whatever the traffic, so `etcd_network_peer_round_trip_time_seconds`
 * has samples on an idle cluster and on followers (which send little on their own). A probe that
 * fails records nothing: an unreachable peer shows in its absence of samples and in the send
 * failures.
 */

import { KV_NODE_MESSAGE_TYPE_BASE } from './transport.js';

/** The peer transport message type of a probe and of its answer (an empty payload both ways). */
export const PROBE_MESSAGE_TYPE = KV_NODE_MESSAGE_TYPE_BASE + 0x80;

/** etcd's probing interval (`rafthttp.proberInterval`: the 5 s read timeout minus 1 s). */
export const PROBE_INTERVAL_MS = 4000;

/** What {@link PeerProber} needs. */
export interface PeerProberOptions {
  /** The peers to probe, by transport name. */
  peers: readonly string[];
  /** Sends one probe to `peer`; resolves when it is answered, rejects when it fails. */
  probe(peer: string): Promise<unknown>;
  /** Monotonic milliseconds. */
  now(): number;
  setInterval(callback: () => void, intervalMs: number): unknown;
  clearInterval(handle: unknown): void;
  /** Records one round trip, in seconds. */
  onRoundTrip(peer: string, seconds: number): void;
  /** Default {@link PROBE_INTERVAL_MS}. */
  intervalMs?: number;
}

/** Probes every peer now and then at a fixed interval until stopped. */
export class PeerProber {
  readonly #options: PeerProberOptions;
  /** Peers with a probe in flight: a slow peer gets one probe at a time. */
  readonly #inFlight = new Set<string>();
  #handle: unknown;

  /** @param options see {@link PeerProberOptions}. */
  constructor(options: PeerProberOptions) {
    this.#options = options;
  }

  /** Probes at once, then every interval. */
  start(): void {
    if (this.#handle !== undefined) return;
    this.#probeAll();
    this.#handle = this.#options.setInterval(
      () => this.#probeAll(),
      this.#options.intervalMs ?? PROBE_INTERVAL_MS,
    );
  }

  /** Stops probing; answers still in flight are ignored. */
  stop(): void {
    if (this.#handle === undefined) return;
    this.#options.clearInterval(this.#handle);
    this.#handle = undefined;
  }

  #probeAll(): void {
    for (const peer of this.#options.peers) {
      if (this.#inFlight.has(peer)) continue;
      this.#inFlight.add(peer);
      const sentAt = this.#options.now();
      this.#options.probe(peer).then(
        () => {
          this.#inFlight.delete(peer);
          if (this.#handle === undefined) return;
          this.#options.onRoundTrip(peer, (this.#options.now() - sentAt) / 1000);
        },
        () => this.#inFlight.delete(peer),
      );
    }
  }
}
