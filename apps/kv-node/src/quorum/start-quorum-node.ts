/**
 * Starts a member in quorum mode (`--replication quorum`): the replica store in
 * `<data-dir>/quorum-log` (`@x/wal`), the {@link QuorumMember} (peer transport authenticated like
 * leader mode, heartbeats, phi-accrual detector, settings agreement, coordinator), metrics and the
 * client API, and the member's own dashboard at `/ui/`. A peer that runs leader mode or other quorum settings stops this member with a
 * clear error.
 */

import { readFileSync } from 'node:fs';
import type { RequestListener, Server } from 'node:http';
import { nodeWallClock } from '@x/clocks';
import type { PeerAddress } from '@x/transport-tcp';
import type { NodeConfig } from '../config/node-config.js';
import { createDashboardHandler } from '../dashboard/dashboard-handler.js';
import { statusSourceFromQuorumStatus } from '../dashboard/quorum-status-source.js';
import { HostAllowlist } from '../http/host-allowlist.js';
import { createHttpServer } from '../http/http-api.js';
import { metricsOnlyHandler } from '../http/metrics-listener.js';
import type { ServerTls } from '../http/http-api.js';
import type { Logger } from '../logging/logger.js';
import type { NodeMetrics } from '../metrics/node-metrics.js';
import { StartupError } from '../node/startup-error.js';
import { QUORUM_LOG_DIRECTORY } from './data-directory-mode.js';
import { createQuorumApiHandler } from './quorum-http.js';
import { createQuorumGrpcGateway, quorumMemberListJson } from './quorum-cluster-api.js';
import { chooseAlpnProtocol, serveGrpcOnSamePort } from '../grpc/same-port.js';
import { QuorumMember } from './quorum-member.js';
import { QuorumMetrics } from './quorum-metrics.js';
import { QuorumReplicaStore } from './quorum-replica-store.js';

/** What run-node hands over. */
export interface QuorumNodeOptions {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  readonly peerSecret: string;
  readonly clientTls: ServerTls | undefined;
  readonly listen: (server: Server, url: URL, flag?: string) => Promise<void>;
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

/** A phi for JSON and Prometheus: two decimals; a very large number for "infinitely suspected". */
export function printablePhi(phi: number): number {
  return Number.isFinite(phi) ? Math.round(phi * 100) / 100 : Number.MAX_SAFE_INTEGER;
}

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
  let reportFailure: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => {
    reportFailure = resolve;
  });
  const peerAddresses: Record<string, PeerAddress | undefined> = {};
  for (const member of config.members) {
    if (member.name !== self) peerAddresses[member.name] = addressOf(member.peerUrls[0] as string);
  }
  if (config.peerTls !== undefined && config.peerTls.trustedCaFile === undefined) {
    throw new StartupError('--peer-trusted-ca-file: required for https:// peer URLs');
  }
  const tls =
    config.peerTls === undefined
      ? undefined
      : {
          cert: readPeerFile('peer-cert-file', config.peerTls.certFile),
          key: readPeerFile('peer-key-file', config.peerTls.keyFile),
          ca: readPeerFile('peer-trusted-ca-file', config.peerTls.trustedCaFile as string),
        };

  const store = await QuorumReplicaStore.open(`${config.dataDir}/${QUORUM_LOG_DIRECTORY}`);
  store.onSynced = (durationMs) => {
    metrics.fsyncDuration.observe(durationMs / 1000);
    metrics.etcd.walFsyncDuration.observe(durationMs / 1000);
  };
  const quorumMetrics = new QuorumMetrics(metrics.registry, peers, metrics);
  let member: QuorumMember;
  /** Buckets that differed from the peer in the last anti-entropy round: the repair backlog. */
  let repairBacklog: number | null = null;
  try {
    member = await QuorumMember.start({
      name: self,
      members,
      peerAddresses,
      listen: addressOf(config.listenPeerUrl.origin),
      clusterId: config.clusterId,
      peerSecret: options.peerSecret,
      ...(tls === undefined ? {} : { tls }),
      store,
      wallClock: nodeWallClock,
      maxClockOffsetMs: config.maxClockOffsetMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      // As long a silence as leader mode tolerates before an election starts.
      suspicionPauseMs: config.electionTimeoutMs / 2,
      readQuorum: config.readQuorum,
      writeQuorum: config.writeQuorum,
      antiEntropyIntervalMs: config.antiEntropyIntervalMs,
      // A member back from a crash or a healed partition should be reached again within about an
      // election timeout, as in leader mode.
      reconnectMaxDelayMs: Math.min(5000, Math.max(100, config.electionTimeoutMs / 2)),
      logger,
      onFatal: (error) => reportFailure(new StartupError(error.message)),
      observer: {
        clockOffsetRefused: (peer) => quorumMetrics.clockOffsetRefusals.inc({ peer }),
        suspicionChanged: (peer, suspected) =>
          quorumMetrics.peerSuspected.set({ peer }, suspected ? 1 : 0),
        staleReplicasFound: (count) => quorumMetrics.staleReplicas.inc(count),
        antiEntropyRound: (round) => {
          quorumMetrics.antiEntropyRounds.inc();
          quorumMetrics.antiEntropyDifferingBuckets.set(round.differingBuckets);
          repairBacklog = round.differingBuckets;
          quorumMetrics.antiEntropyEntries.inc({ direction: 'pulled' }, round.pulled);
          quorumMetrics.antiEntropyEntries.inc({ direction: 'pushed' }, round.pushed);
          quorumMetrics.tombstonesCollected.inc(round.collected);
        },
      },
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
  member.onTransportEvent((event) => {
    if (event.kind === 'integrity-failure') metrics.peerIntegrityFailures.inc({ peer: event.peer });
  });
  let shuttingDown = false;
  const clusterStatus = (): Record<string, unknown> => {
    const states = new Map(member.peerStates().map((state) => [state.name, state]));
    return {
      cluster_id: config.clusterId,
      member_id: config.memberId,
      name: self,
      replication: 'quorum',
      read_quorum: config.readQuorum,
      write_quorum: config.writeQuorum,
      keys: store.size,
      tombstones: store.tombstones,
      repair_backlog: repairBacklog,
      anti_entropy_interval_ms: config.antiEntropyIntervalMs,
      state_hash: store.stateHash(),
      members: config.members.map((entry) => {
        const state = states.get(entry.name);
        return {
          id: entry.id,
          name: entry.name,
          peer_urls: entry.peerUrls,
          client_urls: entry.name === self ? config.advertiseClientUrls : [],
          self: entry.name === self,
          agreed: state?.agreed ?? true,
          suspected: state?.suspected ?? false,
          phi: printablePhi(state?.phi ?? 0),
        };
      }),
    };
  };
  const clusterFacts = {
    clusterId: config.clusterId,
    memberId: config.memberId,
    name: config.name,
    advertiseClientUrls: config.advertiseClientUrls,
    members: config.members,
  };
  // etcd clients list the members when they connect, over gRPC: the Cluster service is served
  // on the client port as in leader mode (the other services answer UNIMPLEMENTED).
  const grpc = createQuorumGrpcGateway({
    facts: clusterFacts,
    maxRequestBytes: config.limits.maxRequestBytes,
    metrics,
    logger,
  });
  const api = createQuorumApiHandler({
    coordinator: member.coordinator,
    limits: config.limits,
    metrics,
    logger,
    clusterId: config.clusterId,
    memberId: config.memberId,
    clusterStatus,
    memberList: () => quorumMemberListJson(clusterFacts),
    unhealthyReason: () => {
      const reachable = 1 + member.peerStates().filter((s) => s.agreed && !s.suspected).length;
      const needed = Math.max(config.readQuorum, config.writeQuorum);
      return reachable >= needed
        ? undefined
        : `QUORUM UNREACHABLE: ${reachable} of ${members.length} members reachable, ${needed} needed`;
    },
    refreshMetrics: () => {
      metrics.keys.set(store.size);
      quorumMetrics.tombstones.set(store.tombstones);
      for (const state of member.peerStates()) {
        quorumMetrics.peerPhi.set({ peer: state.name }, printablePhi(state.phi));
        quorumMetrics.peerSuspected.set({ peer: state.name }, state.suspected ? 1 : 0);
      }
    },
    isShuttingDown: () => shuttingDown,
    onRequest: (operation, consistency, outcome) =>
      quorumMetrics.requests.inc({ operation, consistency, outcome }),
  });
  // The member's own view of the cluster at /ui, as in leader mode (the launcher shows them all).
  const dashboard = createDashboardHandler({
    statusSource: statusSourceFromQuorumStatus(clusterStatus),
    title: `kv-node ${config.name}`,
    allowedHosts: config.allowedHosts,
  });
  const hosts = HostAllowlist.of(config.allowedHosts);
  const handler: RequestListener = (request, response) => {
    if (hosts.refuse(request, response)) return;
    if (!dashboard.handle(request, response)) api(request, response);
  };
  const servers: Server[] = [];
  try {
    for (const url of config.listenClientUrls) {
      const server = createHttpServer(handler, {
        requestTimeoutMs: config.requestTimeoutMs,
        ...(options.clientTls === undefined
          ? {}
          : { tls: options.clientTls, alpnCallback: chooseAlpnProtocol }),
      });
      serveGrpcOnSamePort(server, grpc, config.limits.maxRequestBytes);
      servers.push(server);
      await options.listen(server, url);
    }
    for (const url of config.listenMetricsUrls) {
      const server = createHttpServer(metricsOnlyHandler(handler), {
        requestTimeoutMs: config.requestTimeoutMs,
        ...(options.clientTls === undefined || url.protocol !== 'https:'
          ? {}
          : { tls: options.clientTls }),
      });
      servers.push(server);
      await options.listen(server, url, 'listen-metrics-urls');
    }
  } catch (error) {
    dashboard.close();
    grpc.close(0);
    for (const server of servers) server.close();
    await member.close();
    await store.close();
    throw error;
  }
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
        // Ends the event streams, which would otherwise hold the servers open.
        dashboard.close();
        grpc.close(5000);
        await Promise.all(servers.map((server) => options.closeServer(server, 5000)));
        await member.close();
        await store.close();
        logger.info({}, 'stopped');
      })();
      return stopping;
    },
  };
}
