/**
 * Runs one kv-node member: data directory, replica, leader forwarding, HTTP API; and its graceful
 * shutdown on SIGTERM/SIGINT (stop taking requests, hand over leadership, finish in-flight
 * requests, close the log).
 */

import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { NodeConfig } from '../config/node-config.js';
import { createLogger } from '../logging/create-logger.js';
import type { Logger } from '../logging/logger.js';
import type { RequestListener } from 'node:http';
import { createDashboardHandler } from '../dashboard/dashboard-handler.js';
import { statusSourceFromClusterStatus } from '../dashboard/node-status-source.js';
import { HostAllowlist } from '../http/host-allowlist.js';
import { metricsOnlyHandler } from '../http/metrics-listener.js';
import { apiHandlerFor, createApiContext, createHttpServer } from '../http/http-api.js';
import { createGrpcGateway } from '../grpc/grpc-gateway.js';
import { chooseAlpnProtocol, serveGrpcOnSamePort } from '../grpc/same-port.js';
import type { ServerTls } from '../http/http-api.js';
import { NodeMetrics } from '../metrics/node-metrics.js';
import { ETCD_SERVER_VERSION } from '../version.js';
import { hexIdOf } from '../config/member-id.js';
import { openDataDirectory } from './data-directory.js';
import { inquirySecretFor, resolvePeerSecret } from './peer-secret.js';
import { learnClusterToJoin } from './join-cluster.js';
import type { LearnedCluster } from './join-cluster.js';
import { peerTlsOf } from './start-replica.js';
import { HeapGrowthPolicy } from './heap-growth.js';
import { AutoCompactor } from './auto-compactor.js';
import { LeaderForwarding } from './leader-forwarding.js';
import type { ReplicaStarter } from './replica-runtime.js';
import { ReplicatedBackend } from './replicated-backend.js';
import type { LeaseDriver } from '../lease/lease-driver.js';
import { leaseClockOf } from './lease-clock.js';
import { minLeaseTtlSeconds } from '../lease/lease-limits.js';
import { startReplica } from './start-replica.js';
import { StartupError } from './startup-error.js';
import { SwitchableBackend } from './switchable-backend.js';
import { KvStore } from '../store/kv-store.js';
import { startQuorumNode } from '../quorum/start-quorum-node.js';
import { assertDataDirectoryMode } from '../quorum/data-directory-mode.js';

export { StartupError };

/** A started member. */
export interface RunningNode {
  /** Resolves with an error if the node stops on its own (fail-stop). */
  failed: Promise<Error>;
  /** Graceful shutdown. */
  stop(): Promise<void>;
}

const timers = {
  setTimeout: (callback: () => void, delayMs: number): unknown => setTimeout(callback, delayMs),
  clearTimeout: (handle: unknown): void => clearTimeout(handle as NodeJS.Timeout),
};

function readFileFor(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new StartupError(`--${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
}

function listen(server: Server, url: URL, flag = 'listen-client-urls'): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        new StartupError(
          error.code === 'EADDRINUSE'
            ? `--${flag}: ${url.origin} is already in use`
            : `--${flag}: cannot listen on ${url.origin}: ${error.message}`,
        ),
      );
    };
    server.once('error', onError);
    server.listen(Number(url.port), url.hostname.replace(/^\[|\]$/g, ''), () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function optionalTls<T>(tls: T | undefined): { tls?: T } {
  return tls === undefined ? {} : { tls };
}

function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Starts a member.
 *
 * @throws StartupError (or DataDirectoryError) with an operator-facing message.
 */
export async function startNode(
  givenConfig: NodeConfig,
  logger: Logger,
  replicaStarter: ReplicaStarter = startReplica,
): Promise<RunningNode> {
  let learned: LearnedCluster | undefined;
  const dataDirectory = await openDataDirectory(
    givenConfig.dataDir,
    { clusterId: givenConfig.clusterId, memberId: givenConfig.memberId, name: givenConfig.name },
    {
      clusterState: givenConfig.clusterState,
      joinClusterId: givenConfig.joinClusterId,
      // Quorum mode's members are fixed by --initial-cluster: nobody joins it at run time.
      ...(givenConfig.replication === 'quorum'
        ? {}
        : {
            learnCluster: async () => {
              learned = await learnClusterToJoin({
                peers: givenConfig.members.filter((member) => member.name !== givenConfig.name),
                selfPeerUrls: givenConfig.advertisePeerUrls,
                name: givenConfig.name,
                secret: inquirySecretFor(givenConfig, () => resolvePeerSecret(givenConfig, logger)),
                ...optionalTls(peerTlsOf(givenConfig)),
                logger,
                giveUpAfterMs: Math.max(10_000, 10 * givenConfig.electionTimeoutMs),
                inquiryTimeoutMs: 2000,
                now: () => performance.now(),
                sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
              });
              return {
                clusterId: learned.clusterId,
                memberId: learned.self.id,
                replicationId: learned.self.replicationId,
              };
            },
          }),
    },
  );
  // A member that joined a running cluster belongs to the cluster it was given, which
  // --initial-cluster (today's members) cannot tell, under the id the cluster gave it.
  const config: NodeConfig = {
    ...givenConfig,
    clusterId: dataDirectory.identity.clusterId,
    memberId: dataDirectory.identity.memberId,
  };
  let clientTls: ServerTls | undefined;
  let peerSecret: string;
  try {
    clientTls =
      config.clientTls === undefined
        ? undefined
        : {
            cert: readFileFor('cert-file', config.clientTls.certFile),
            key: readFileFor('key-file', config.clientTls.keyFile),
            ...(config.clientTls.clientCertAuth && config.clientTls.trustedCaFile !== undefined
              ? { ca: readFileFor('trusted-ca-file', config.clientTls.trustedCaFile) }
              : {}),
          };
    // etcd settings accepted without effect, unrecognized ETCD_* variables: said once, at start.
    for (const warning of config.warnings) logger.warn({}, warning);
    peerSecret = resolvePeerSecret(config, logger);
  } catch (error) {
    await dataDirectory.release();
    throw error;
  }
  const metrics = new NodeMetrics();
  try {
    assertDataDirectoryMode(config.dataDir, config.replication);
  } catch (error) {
    await dataDirectory.release();
    throw error;
  }
  if (config.replication === 'quorum') {
    // Leaderless mode has its own replica, peer protocol and client API (see quorum/).
    try {
      const quorumNode = await startQuorumNode({
        config,
        logger,
        metrics,
        peerSecret,
        clientTls,
        listen,
        closeServer,
      });
      return {
        failed: quorumNode.failed,
        stop: () => quorumNode.stop().finally(() => dataDirectory.release()),
      };
    } catch (error) {
      await dataDirectory.release();
      throw error;
    }
  }
  const servers: Server[] = [];
  let shuttingDown = false;
  const backend = new SwitchableBackend(new KvStore(), () => ({
    clusterId: config.clusterId,
    memberId: config.memberId,
    name: config.name,
    role: 'unknown',
    generation: 0,
    leaderId: undefined,
    lastLogIndex: 0,
    highWaterMark: 0,
    appliedIndex: 0,
    snapshotIndex: 0,
    lowWaterMark: 0,
    members: config.members.map((member) => ({
      id: member.id,
      name: member.name,
      peerUrls: member.peerUrls,
      clientUrls: member.id === config.memberId ? config.advertiseClientUrls : [],
      role: 'unknown',
    })),
  }));
  const apiContext = createApiContext({
    backend,
    metrics,
    limits: config.limits,
    logger,
    timers,
    version: ETCD_SERVER_VERSION,
    isShuttingDown: () => shuttingDown,
    minLeaseTtlSeconds: minLeaseTtlSeconds(config.electionTimeoutMs, config.heartbeatIntervalMs),
    quotaBackendBytes: config.quotaBackendBytes,
    watchProgressIntervalMs: config.watchProgressIntervalMs,
    auth: {
      tokenTtlMs: config.auth.tokenTtlSeconds * 1000,
      scryptCost: config.auth.scryptCost,
      clientCertAuth: config.clientTls?.clientCertAuth ?? false,
      now: () => Date.now(),
    },
  });
  const apiHandler = apiHandlerFor(apiContext);
  // etcd's gRPC API on the same client ports, through the same context (backend, auth, limits).
  const grpc = createGrpcGateway(apiContext);
  // Each member serves its own view of the cluster at /ui (the launcher serves the whole cluster).
  const dashboard = createDashboardHandler({
    statusSource: statusSourceFromClusterStatus(() => backend.status()),
    title: `kv-node ${config.name}`,
    allowedHosts: config.allowedHosts,
  });
  // Checked first, for every route: a DNS-rebinding page must reach neither the API nor /ui.
  const hosts = HostAllowlist.of(config.allowedHosts);
  const handler: RequestListener = (request, response) => {
    if (hosts.refuse(request, response)) return;
    if (!dashboard.handle(request, response)) apiHandler(request, response);
  };
  let runtime: Awaited<ReturnType<ReplicaStarter>> | undefined;
  let forwarding: LeaderForwarding | undefined;
  let leaseClock: LeaseDriver | undefined;
  try {
    // Bind the client port first: a conflict then fails at once, before the log is opened.
    for (const url of config.listenClientUrls) {
      const server = createHttpServer(handler, {
        requestTimeoutMs: config.requestTimeoutMs,
        ...(clientTls === undefined ? {} : { tls: clientTls, alpnCallback: chooseAlpnProtocol }),
      });
      serveGrpcOnSamePort(server, grpc, config.limits.maxRequestBytes);
      servers.push(server);
      await listen(server, url);
    }
    for (const url of config.listenMetricsUrls) {
      const server = createHttpServer(metricsOnlyHandler(handler), {
        requestTimeoutMs: config.requestTimeoutMs,
        ...(clientTls === undefined || url.protocol !== 'https:' ? {} : { tls: clientTls }),
      });
      servers.push(server);
      await listen(server, url, 'listen-metrics-urls');
    }
    runtime = await replicaStarter({
      config,
      logger,
      metrics,
      peerSecret,
      replicationId: dataDirectory.identity.replicationId,
      joining: dataDirectory.joining,
      ...(learned === undefined ? {} : { joinedMembers: learned.members }),
    });
    leaseClock = leaseClockOf(runtime.replica, {
      now: () => performance.now(),
      timers,
      electionTimeoutMs: config.electionTimeoutMs,
      logger,
    });
    const answeringClock = leaseClock;
    forwarding = new LeaderForwarding({
      transport: runtime.nodeTransport,
      replica: runtime.replica,
      timers,
      logger,
      timeoutMs: 5000,
      now: () => performance.now(),
      onRoundTrip: (peer, seconds) => metrics.peerRoundTrip.observe({ peer }, seconds),
      answerLeaseQuery: (query) => answeringClock.answer(query),
      leaseQueryTimeoutMs: config.electionTimeoutMs,
    });
    backend.setTarget(
      new ReplicatedBackend(runtime.replica, forwarding, leaseClock, runtime.membership),
    );
    leaseClock.start();
  } catch (error) {
    leaseClock?.stop();
    dashboard.close();
    grpc.close(0);
    for (const server of servers) server.close();
    await runtime?.close().catch(() => undefined);
    await dataDirectory.release();
    throw error;
  }
  const started = runtime;
  const compactor =
    config.autoCompaction === undefined
      ? undefined
      : new AutoCompactor(config.autoCompaction, {
          now: () => performance.now(),
          setInterval: (callback, intervalMs) => setInterval(callback, intervalMs),
          clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
          isLeader: () => backend.status().role === 'leader',
          revisions: () => ({
            revision: backend.store.revision,
            compactRevision: backend.store.compactRevision,
          }),
          compact: async (revision) => {
            const outcome = await backend.write({
              type: 'maintenance',
              request: { kind: 'compact', revision, physical: false },
            });
            if (outcome.status === 'maintenance' && outcome.result.error !== undefined) {
              logger.info({ revision, error: outcome.result.error }, 'auto-compaction skipped');
            }
          },
          logger,
        });
  compactor?.start();
  logger.info(
    {
      clientUrls: config.advertiseClientUrls,
      peerUrl: config.listenPeerUrl.origin,
      members: config.members.map((member) => member.name),
      memberId: hexIdOf(config.memberId),
      clusterId: hexIdOf(config.clusterId),
    },
    'serving clients',
  );
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      shuttingDown = true;
      compactor?.stop();
      logger.info({}, 'shutting down: handing over leadership, finishing requests');
      await started.transferLeadership().catch((error: unknown) => {
        logger.warn({ err: error }, 'leadership transfer failed');
      });
      dashboard.close();
      grpc.close(5000);
      await Promise.all(servers.map((server) => closeServer(server, 5000)));
      leaseClock?.stop();
      forwarding?.close();
      await started.close();
      await dataDirectory.release();
      logger.info({}, 'stopped');
    })();
    return stopping;
  };
  return { failed: started.failed, stop };
}

/**
 * Runs a member until SIGTERM/SIGINT or a fatal error; resolves with the exit code. Startup
 * failures (locked or foreign data directory, port in use) print one clear line and exit 1.
 */
export async function runNode(config: NodeConfig): Promise<number> {
  const stopHeapPolicy = new HeapGrowthPolicy().watch();
  try {
    return await runUntilStopped(config);
  } finally {
    stopHeapPolicy?.();
  }
}

async function runUntilStopped(config: NodeConfig): Promise<number> {
  const logger = createLogger({
    name: config.name,
    level: config.logLevel,
    format: config.logFormat,
    destination: config.logOutput === 'stdout' ? process.stdout : process.stderr,
  });
  let node: RunningNode;
  try {
    node = await startNode(config, logger);
  } catch (error) {
    logger.error({ err: error }, 'cannot start');
    process.stderr.write(`kv-node: cannot start: ${(error as Error).message}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting at once');
        process.exit(1);
      }
      logger.info({ signal }, 'signal received');
      void node.stop().then(() => resolve(0));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    void node.failed.then((error) => {
      // The replica logged the error when it failed: say only what happens now, so an
      // operator reads the error once (and the runbook, when data was lost, on stderr).
      logger.info({}, 'stopping after the fatal error above');
      process.stderr.write(`kv-node: stopped: ${error.message}\n`);
      void node.stop().finally(() => resolve(1));
    });
  });
}
