/**
 * Starts a member in quorum mode (`--replication quorum`): the replica store in
 * `<data-dir>/quorum-log` (`@x/wal`), the peer transport (`@x/transport-tcp`, authenticated like
 * leader mode), heartbeats and the phi-accrual detector, the settings agreement with every peer,
 * and the client API. A peer that runs leader mode or other quorum settings stops this member with
 * a clear error.
 */

import { readFileSync } from 'node:fs';
import type { RequestListener, Server } from 'node:http';
import { HybridClock, nodeWallClock } from '@x/clocks';
import { nodeTimers } from '@x/quorum';
import { RemoteHandlerError, TcpTransport } from '@x/transport-tcp';
import type { PeerAddress } from '@x/transport-tcp';
import type { NodeConfig } from '../config/node-config.js';
import { HostAllowlist } from '../http/host-allowlist.js';
import { createHttpServer } from '../http/http-api.js';
import type { ServerTls } from '../http/http-api.js';
import type { Logger } from '../logging/logger.js';
import type { NodeMetrics } from '../metrics/node-metrics.js';
import { KV_NODE_MESSAGE_TYPE_BASE } from '../node/transport.js';
import { StartupError } from '../node/startup-error.js';
import { QuorumCoordinator } from './quorum-coordinator.js';
import { createQuorumApiHandler } from './quorum-http.js';
import {
  QuorumMessageType,
  decodeJson,
  decodeSettings,
  encodeJson,
  isQuorumMessageType,
  settingsMismatch,
} from './quorum-messages.js';
import type { ReplicationSettings } from './quorum-messages.js';
import { QuorumMetrics } from './quorum-metrics.js';
import { QuorumReplicaStore } from './quorum-replica-store.js';
import { PeerLiveness } from './peer-liveness.js';
import { ReplicaService } from './replica-service.js';
import { QuorumReplicaClient } from './replica-client.js';

/** What run-node hands over. */
export interface QuorumNodeOptions {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  readonly peerSecret: string;
  readonly clientTls: ServerTls | undefined;
  readonly listen: (server: Server, url: URL) => Promise<void>;
  readonly closeServer: (server: Server, graceMs: number) => Promise<void>;
}

/** A started quorum-mode member. */
export interface RunningQuorumNode {
  /** Resolves with the error that stopped the member on its own (disagreeing peer, log failure). */
  readonly failed: Promise<Error>;
  stop(): Promise<void>;
}

function addressOf(url: string): PeerAddress {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port) };
}

function readPeerFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new StartupError(`--${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/** How long a request waits for one peer, and each quorum phase, in milliseconds. */
const PEER_TIMEOUT_MS = 2000;

/**
 * Starts the member.
 *
 * @throws StartupError for a port in use or unreadable TLS files; WAL errors for a damaged log.
 */
export async function startQuorumNode(options: QuorumNodeOptions): Promise<RunningQuorumNode> {
  const { config, logger, metrics } = options;
  const self = config.name;
  const members = config.members.map((member) => member.name);
  const peers = members.filter((member) => member !== self);
  const settings: ReplicationSettings = {
    mode: 'quorum',
    members: [...members].sort(),
    readQuorum: config.readQuorum,
    writeQuorum: config.writeQuorum,
  };
  let reportFailure: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => {
    reportFailure = resolve;
  });
  const stopWith = (message: string): void => {
    logger.error({}, message);
    reportFailure(new StartupError(message));
  };

  const store = await QuorumReplicaStore.open(`${config.dataDir}/quorum-log`);
  const quorumMetrics = new QuorumMetrics(metrics.registry, peers);
  store.onSynced = (durationMs) => metrics.fsyncDuration.observe(durationMs / 1000);
  store.onFailure = (error) => {
    logger.error({ err: error }, 'the replica log failed: stopping');
    reportFailure(error);
  };
  // Above every timestamp stored before a restart, even if the wall clock went back meanwhile.
  const clock = new HybridClock(nodeWallClock, {
    maxOffsetMs: config.maxClockOffsetMs,
    initial: store.highestTimestamp,
  });
  const onClockOffset = (peer: string, error: Error & { offsetMs?: number }): void => {
    quorumMetrics.clockOffsetRefusals.inc({ peer });
    logger.warn(
      { peer, offsetMs: error.offsetMs, err: error },
      'refused a timestamp too far ahead',
    );
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

  const peerAddresses: Record<string, PeerAddress | undefined> = {};
  for (const member of config.members) {
    if (member.name !== self) peerAddresses[member.name] = addressOf(member.peerUrls[0] as string);
  }
  const tls =
    config.peerTls === undefined
      ? undefined
      : {
          cert: readPeerFile('peer-cert-file', config.peerTls.certFile),
          key: readPeerFile('peer-key-file', config.peerTls.keyFile),
          ca: readPeerFile('peer-trusted-ca-file', config.peerTls.trustedCaFile ?? ''),
        };
  let transport: TcpTransport;
  try {
    transport = await TcpTransport.start({
      nodeId: self,
      clusterId: config.clusterId,
      secret: options.peerSecret,
      peers: peerAddresses,
      listen: {
        host: config.listenPeerUrl.hostname.replace(/^\[|\]$/g, ''),
        port: Number(config.listenPeerUrl.port),
      },
      logger,
      reconnect: { maxDelayMs: Math.min(5000, Math.max(100, config.electionTimeoutMs / 2)) },
      ...(tls === undefined ? {} : { tls }),
    });
  } catch (error) {
    await store.close();
    const code = (error as NodeJS.ErrnoException).code;
    throw new StartupError(
      code === 'EADDRINUSE'
        ? `--listen-peer-urls: ${config.listenPeerUrl.origin} is already in use`
        : `--listen-peer-urls: cannot listen on ${config.listenPeerUrl.origin}: ${(error as Error).message}`,
    );
  }
  const liveness = new PeerLiveness({
    peers,
    intervalMs: config.heartbeatIntervalMs,
    send: (peer, type, payload) => transport.send(peer, type, payload),
    logger,
    onChange: (peer, suspected) => quorumMetrics.peerSuspected.set({ peer }, suspected ? 1 : 0),
  });
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
        `--replication quorum: ${from} sent a leader-mode request (type ${type}): it runs --replication leader`,
      );
      throw new Error('this member runs --replication quorum');
    }
    return service.handle(from, type, payload);
  });

  let closed = false;
  const sayHello = async (peer: string): Promise<void> => {
    // Until a peer answers, it is retried: it may be starting, or offline (that is fine).
    while (!closed && !service.hasAgreed(peer)) {
      try {
        const reply = await transport.request(peer, QuorumMessageType.hello, encodeJson(settings), {
          timeoutMs: PEER_TIMEOUT_MS,
        });
        liveness.heard(peer);
        const mismatch = settingsMismatch(settings, decodeSettings(decodeJson(reply.payload)));
        if (mismatch !== undefined) {
          stopWith(
            `--replication quorum: ${peer} disagrees: ${mismatch}; every member must be started alike`,
          );
          return;
        }
        service.agreedWith(peer);
        logger.info({ peer }, 'peer agrees on quorum mode');
      } catch (error) {
        if (error instanceof RemoteHandlerError && /no request handler/.test(error.message)) {
          stopWith(
            `--replication quorum: ${peer} does not run --replication quorum; every member must be started with the same --replication`,
          );
          return;
        }
        if (error instanceof TypeError) {
          stopWith(`--replication quorum: ${peer} answered the hello with ${error.message}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, config.heartbeatIntervalMs));
      }
    }
  };
  const helloLoops = new Set<string>();
  const startHello = (peer: string): void => {
    if (helloLoops.has(peer)) return;
    helloLoops.add(peer);
    void sayHello(peer).finally(() => helloLoops.delete(peer));
  };
  transport.onEvent((event) => {
    if (event.kind === 'integrity-failure') metrics.peerIntegrityFailures.inc({ peer: event.peer });
    // A restarted peer forgot who agreed: say hello again on every new connection.
    if (event.kind === 'peer-connected') {
      service.forget(event.peer);
      startHello(event.peer);
    }
  });

  const replicas = new QuorumReplicaClient({
    self,
    store,
    transport,
    clock,
    isSuspected: (peer) => liveness.isSuspected(peer),
    hasAgreed: (peer) => service.hasAgreed(peer),
    timeoutMs: PEER_TIMEOUT_MS,
    onClockOffset,
  });
  const coordinator = new QuorumCoordinator({
    self,
    members,
    replicas,
    clock,
    timers: nodeTimers,
    readQuorum: config.readQuorum,
    writeQuorum: config.writeQuorum,
    timeoutMs: PEER_TIMEOUT_MS,
    onStale: (stale) => quorumMetrics.staleReplicas.inc(stale.length),
  });
  let shuttingDown = false;
  const clusterStatus = (): Record<string, unknown> => ({
    cluster_id: config.clusterId,
    member_id: config.memberId,
    name: self,
    replication: 'quorum',
    read_quorum: config.readQuorum,
    write_quorum: config.writeQuorum,
    keys: store.size,
    members: config.members.map((member) => ({
      id: member.id,
      name: member.name,
      peer_urls: member.peerUrls,
      self: member.name === self,
      agreed: member.name === self || service.hasAgreed(member.name),
      suspected: member.name === self ? false : liveness.isSuspected(member.name),
      phi: member.name === self ? 0 : roundPhi(liveness.phi(member.name)),
    })),
  });
  const api = createQuorumApiHandler({
    coordinator,
    limits: config.limits,
    metrics,
    logger,
    clusterId: config.clusterId,
    memberId: config.memberId,
    clusterStatus,
    refreshMetrics: () => {
      metrics.keys.set(store.size);
      for (const peer of peers) {
        quorumMetrics.peerPhi.set({ peer }, roundPhi(liveness.phi(peer)));
        quorumMetrics.peerSuspected.set({ peer }, liveness.isSuspected(peer) ? 1 : 0);
      }
    },
    isShuttingDown: () => shuttingDown,
    onRequest: (operation, consistency, outcome) =>
      quorumMetrics.requests.inc({ operation, consistency, outcome }),
  });
  const hosts = HostAllowlist.of(config.allowedHosts);
  const handler: RequestListener = (request, response) => {
    if (!hosts.refuse(request, response)) api(request, response);
  };
  const servers: Server[] = [];
  try {
    for (const url of config.listenClientUrls) {
      const server = createHttpServer(handler, {
        requestTimeoutMs: config.requestTimeoutMs,
        ...(options.clientTls === undefined ? {} : { tls: options.clientTls }),
      });
      servers.push(server);
      await options.listen(server, url);
    }
  } catch (error) {
    for (const server of servers) server.close();
    await transport.close();
    await store.close();
    throw error;
  }
  liveness.start();
  for (const peer of peers) startHello(peer);
  logger.info(
    { members, readQuorum: config.readQuorum, writeQuorum: config.writeQuorum, keys: store.size },
    'serving clients in quorum mode',
  );
  let stopping: Promise<void> | undefined;
  return {
    failed,
    stop: () => {
      stopping ??= (async () => {
        shuttingDown = true;
        closed = true;
        await Promise.all(servers.map((server) => options.closeServer(server, 5000)));
        liveness.close();
        await transport.close();
        await store.close();
        logger.info({}, 'stopped');
      })();
      return stopping;
    },
  };
}

function roundPhi(phi: number): number {
  return Number.isFinite(phi) ? Math.round(phi * 100) / 100 : 1e9;
}
