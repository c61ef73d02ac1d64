/**
 * One member of a quorum-mode cluster without its HTTP API: the replica store, the hybrid clock,
 * the peer transport (`@x/transport-tcp`, authenticated by the cluster's peer secret), heartbeats
 * and the phi-accrual detector, the settings agreement with every peer, and the coordinator that
 * serves client requests. `start-quorum-node.ts` puts the HTTP API on it; tests run several in one
 * process.
 */

import { HybridClock } from '@x/clocks';
import type { WallClock, ClockOffsetError } from '@x/clocks';
import { nodeTimers } from '@x/quorum';
import { RemoteHandlerError, TcpTransport } from '@x/transport-tcp';
import type { PeerAddress, TlsOptions, TransportEvent } from '@x/transport-tcp';
import type { Logger } from '../logging/logger.js';
import { KV_NODE_MESSAGE_TYPE_BASE } from '../node/transport.js';
import { AntiEntropy } from './anti-entropy.js';
import type { AntiEntropyRound } from './anti-entropy.js';
import { QuorumCoordinator } from './quorum-coordinator.js';
import {
  QuorumMessageType,
  decodeJson,
  decodeSettings,
  encodeJson,
  isQuorumMessageType,
  settingsMismatch,
} from './quorum-messages.js';
import type { ReplicationSettings } from './quorum-messages.js';
import type { QuorumReplicaStore } from './quorum-replica-store.js';
import { PeerLiveness } from './peer-liveness.js';
import { ReplicaService } from './replica-service.js';
import { QuorumReplicaClient } from './replica-client.js';

/** How long a request waits for one peer, and each quorum phase, by default, in milliseconds. */
export const DEFAULT_PEER_TIMEOUT_MS = 2000;

/** Options of {@link QuorumMember.start}. */
export interface QuorumMemberOptions {
  /** This member's name (its id on the peer transport and in versions). */
  readonly name: string;
  /** Every member's name, this one's included. */
  readonly members: readonly string[];
  /** Where this member reaches each peer. */
  readonly peerAddresses: Readonly<Record<string, PeerAddress | undefined>>;
  /** Where to listen for peers. */
  readonly listen: PeerAddress;
  readonly clusterId: string;
  /** The shared peer secret (see `node/peer-secret.ts`). */
  readonly peerSecret: string;
  readonly tls?: TlsOptions;
  readonly store: QuorumReplicaStore;
  /** Physical time of the hybrid clock (`nodeWallClock`; skewed in tests). */
  readonly wallClock: WallClock;
  readonly maxClockOffsetMs: number;
  readonly heartbeatIntervalMs: number;
  /** Silence tolerated beyond the heartbeat interval before a peer is suspected, in ms. */
  readonly suspicionPauseMs: number;
  readonly readQuorum: number;
  readonly writeQuorum: number;
  readonly peerTimeoutMs?: number;
  /** Milliseconds between anti-entropy rounds; 0 turns anti-entropy off. */
  readonly antiEntropyIntervalMs: number;
  /**
   * How old a tombstone must be before it is collected (once every peer holds it), in
   * milliseconds: more than a write can be old when it arrives (the clock offset plus a
   * request's time). Default: `maxClockOffsetMs` plus five peer timeouts.
   */
  readonly tombstoneGraceMs?: number;
  /** Reconnect backoff ceiling of the transport, in milliseconds. */
  readonly reconnectMaxDelayMs?: number;
  readonly logger: Logger;
  /** The member cannot go on (a disagreeing peer, a failed log): it should stop. */
  readonly onFatal: (error: Error) => void;
  /** Observers for metrics. */
  readonly observer?: QuorumMemberObserver;
}

/** What a member reports, for metrics. */
export interface QuorumMemberObserver {
  clockOffsetRefused?(peer: string, error: ClockOffsetError): void;
  suspicionChanged?(peer: string, suspected: boolean): void;
  staleReplicasFound?(count: number): void;
  antiEntropyRound?(round: AntiEntropyRound): void;
}

/** A running member. */
export class QuorumMember {
  readonly name: string;
  readonly coordinator: QuorumCoordinator;
  readonly store: QuorumReplicaStore;
  readonly settings: ReplicationSettings;
  /** The transport's real listen address (a port given as 0 is chosen by the system). */
  readonly peerAddress: PeerAddress;
  readonly #transport: TcpTransport;
  readonly #liveness: PeerLiveness;
  readonly #service: ReplicaService;
  readonly #antiEntropy: AntiEntropy;
  readonly #peers: readonly string[];
  readonly #helloLoops = new Set<string>();
  #closed = false;

  private constructor(
    options: QuorumMemberOptions,
    transport: TcpTransport,
    liveness: PeerLiveness,
    service: ReplicaService,
    coordinator: QuorumCoordinator,
    settings: ReplicationSettings,
    antiEntropy: AntiEntropy,
  ) {
    this.#antiEntropy = antiEntropy;
    this.name = options.name;
    this.store = options.store;
    this.#transport = transport;
    this.#liveness = liveness;
    this.#service = service;
    this.coordinator = coordinator;
    this.settings = settings;
    this.peerAddress = transport.address;
    this.#peers = options.members.filter((member) => member !== options.name);
  }

  /**
   * Starts the transport, heartbeats and the hello to every peer.
   *
   * @throws when the peer address cannot be bound (e.g. `EADDRINUSE`).
   */
  static async start(options: QuorumMemberOptions): Promise<QuorumMember> {
    const { name, members, logger, store, observer } = options;
    const peers = members.filter((member) => member !== name);
    const timeoutMs = options.peerTimeoutMs ?? DEFAULT_PEER_TIMEOUT_MS;
    const settings: ReplicationSettings = {
      mode: 'quorum',
      members: [...members].sort(),
      readQuorum: options.readQuorum,
      writeQuorum: options.writeQuorum,
    };
    let fatal = false;
    const stopWith = (message: string): void => {
      if (fatal) return;
      fatal = true;
      logger.error({}, message);
      options.onFatal(new Error(message));
    };
    store.onFailure = (error) => {
      logger.error({ err: error }, 'the replica log failed: stopping');
      options.onFatal(error);
    };
    // Above every timestamp stored before a restart, even if the wall clock went back meanwhile.
    const clock = new HybridClock(options.wallClock, {
      maxOffsetMs: options.maxClockOffsetMs,
      initial: store.highestTimestamp,
    });
    const onClockOffset = (peer: string, error: ClockOffsetError): void => {
      logger.warn(
        { peer, offsetMs: error.offsetMs, err: error },
        'refused a timestamp too far ahead',
      );
      observer?.clockOffsetRefused?.(peer, error);
    };
    const service = new ReplicaService({
      store,
      clock,
      settings,
      logger,
      onDisagreement: (peer, reason) =>
        stopWith(
          `--replication quorum: ${peer} disagrees: ${reason}; every member must be started alike`,
        ),
      onClockOffset,
    });
    const transport = await TcpTransport.start({
      nodeId: name,
      clusterId: options.clusterId,
      secret: options.peerSecret,
      peers: { ...options.peerAddresses },
      listen: options.listen,
      logger,
      reconnect: { maxDelayMs: options.reconnectMaxDelayMs ?? 500 },
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    });
    const liveness = new PeerLiveness({
      peers,
      intervalMs: options.heartbeatIntervalMs,
      acceptablePauseMs: options.suspicionPauseMs,
      send: (peer, type, payload) => transport.send(peer, type, payload),
      logger,
      onChange: (peer, suspected) => observer?.suspicionChanged?.(peer, suspected),
    });
    const replicas = new QuorumReplicaClient({
      self: name,
      store,
      transport,
      clock,
      isSuspected: (peer) => liveness.isSuspected(peer),
      hasAgreed: (peer) => service.hasAgreed(peer),
      timeoutMs,
      onClockOffset,
    });
    const coordinator = new QuorumCoordinator({
      self: name,
      members,
      replicas,
      clock,
      timers: nodeTimers,
      readQuorum: options.readQuorum,
      writeQuorum: options.writeQuorum,
      timeoutMs,
      onStale: (stale) => observer?.staleReplicasFound?.(stale.length),
    });
    const antiEntropy = new AntiEntropy({
      self: name,
      peers,
      store,
      replicas,
      intervalMs: options.antiEntropyIntervalMs,
      tombstoneGraceMs: options.tombstoneGraceMs ?? options.maxClockOffsetMs + 5 * timeoutMs,
      nowWallMs: () => Math.max(options.wallClock.now(), clock.current.wallMs),
      logger,
      onRound: (round) => observer?.antiEntropyRound?.(round),
    });
    const member = new QuorumMember(
      options,
      transport,
      liveness,
      service,
      coordinator,
      settings,
      antiEntropy,
    );

    transport.onMessage((from, type) => {
      if (type < KV_NODE_MESSAGE_TYPE_BASE) {
        stopWith(
          `--replication quorum: ${from} sends leader-follower replication messages: it runs ` +
            '--replication leader; every member must be started with the same --replication',
        );
        return;
      }
      if (isQuorumMessageType(type)) liveness.heard(from);
    });
    transport.onRequest(async (from, type, payload) => {
      liveness.heard(from);
      if (!isQuorumMessageType(type)) {
        stopWith(
          `--replication quorum: ${from} sent a leader-mode request (type ${type}): it runs ` +
            '--replication leader; every member must be started with the same --replication',
        );
        throw new Error('this member runs --replication quorum');
      }
      return service.handle(from, type, payload);
    });
    transport.onEvent((event) => {
      // A peer that restarted says hello itself (and is checked then); this covers a peer whose
      // first hello this member missed while it was cut off.
      if (event.kind === 'peer-connected') member.#startHello(event.peer, stopWith);
    });
    liveness.start();
    for (const peer of peers) member.#startHello(peer, stopWith);
    if (options.antiEntropyIntervalMs > 0) antiEntropy.start();
    return member;
  }

  /** Adds a listener for the transport's events (integrity failures, for metrics). */
  onTransportEvent(listener: (event: TransportEvent) => void): void {
    this.#transport.onEvent(listener);
  }

  /** Each peer: whether it agreed on the settings, whether it is suspected, and its phi. */
  peerStates(): { name: string; agreed: boolean; suspected: boolean; phi: number }[] {
    return this.#peers.map((peer) => ({
      name: peer,
      agreed: this.#service.hasAgreed(peer),
      suspected: this.#liveness.isSuspected(peer),
      phi: this.#liveness.phi(peer),
    }));
  }

  /** Runs one anti-entropy round now (tests; the background rounds run on their own). */
  antiEntropyRound(): Promise<AntiEntropyRound | undefined> {
    return this.#antiEntropy.runRound();
  }

  /** Stops heartbeats, anti-entropy and the transport (the store is the caller's to close). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#antiEntropy.stop();
    this.#liveness.close();
    await this.#transport.close();
  }

  #startHello(peer: string, stopWith: (message: string) => void): void {
    if (this.#helloLoops.has(peer)) return;
    this.#helloLoops.add(peer);
    void this.#sayHello(peer, stopWith).finally(() => this.#helloLoops.delete(peer));
  }

  /** Asks `peer` for its settings until it answers (it may be starting, or offline: that is fine). */
  async #sayHello(peer: string, stopWith: (message: string) => void): Promise<void> {
    while (!this.#closed && !this.#service.hasAgreed(peer)) {
      try {
        const reply = await this.#transport.request(
          peer,
          QuorumMessageType.hello,
          encodeJson(this.settings),
          { timeoutMs: DEFAULT_PEER_TIMEOUT_MS },
        );
        this.#liveness.heard(peer);
        const mismatch = settingsMismatch(this.settings, decodeSettings(decodeJson(reply.payload)));
        if (mismatch !== undefined) {
          stopWith(
            `--replication quorum: ${peer} disagrees: ${mismatch}; every member must be started alike`,
          );
          return;
        }
        this.#service.agreedWith(peer);
        this.#liveness.heard(peer);
      } catch (error) {
        if (this.#closed) return;
        if (error instanceof RemoteHandlerError && /no request handler/.test(error.message)) {
          stopWith(
            `--replication quorum: ${peer} does not run --replication quorum; every member must ` +
              'be started with the same --replication',
          );
          return;
        }
        if (error instanceof TypeError) {
          stopWith(`--replication quorum: ${peer} answered the hello with ${error.message}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, this.#liveness.intervalMs));
      }
    }
  }
}
