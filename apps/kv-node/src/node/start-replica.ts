/**
 * Starts this member's replica of the log: the peer transport (`@x/transport-tcp`), shared
 * between replication and leader forwarding, and the replica driver over `@x/wal`.
 */

import { readFileSync } from 'node:fs';
import { TcpTransport } from '@x/transport-tcp';
import type { PeerAddress } from '@x/transport-tcp';
import { KvStateMachine } from '../store/kv-state-machine.js';
import { ReplicaDriver } from './replica/replica-driver.js';
import type { ReplicaRuntime, ReplicaStartOptions } from './replica-runtime.js';
import { StartupError } from './startup-error.js';
import { splitTransport } from './transport.js';

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

/** Starts this member's replica. @throws StartupError for a peer port in use or bad TLS files. */
export async function startReplica(options: ReplicaStartOptions): Promise<ReplicaRuntime> {
  const { config, logger, metrics } = options;
  const peers: Record<string, PeerAddress | undefined> = {};
  for (const member of config.members) {
    if (member.name !== config.name) peers[member.name] = addressOf(member.peerUrls[0] as string);
  }
  let tls;
  if (config.peerTls !== undefined) {
    if (config.peerTls.trustedCaFile === undefined) {
      throw new StartupError('--peer-trusted-ca-file: required for https:// peer URLs');
    }
    tls = {
      cert: readPeerFile('peer-cert-file', config.peerTls.certFile),
      key: readPeerFile('peer-key-file', config.peerTls.keyFile),
      ca: readPeerFile('peer-trusted-ca-file', config.peerTls.trustedCaFile),
    };
  }
  let tcp: TcpTransport;
  try {
    tcp = await TcpTransport.start({
      nodeId: config.name,
      clusterId: config.clusterId,
      secret: options.peerSecret,
      peers,
      listen: {
        host: config.listenPeerUrl.hostname.replace(/^\[|\]$/g, ''),
        port: Number(config.listenPeerUrl.port),
      },
      logger,
      ...(tls === undefined ? {} : { tls }),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StartupError(
      code === 'EADDRINUSE'
        ? `--listen-peer-urls: ${config.listenPeerUrl.origin} is already in use`
        : `--listen-peer-urls: cannot listen on ${config.listenPeerUrl.origin}: ${(error as Error).message}`,
    );
  }
  const { replication, node } = splitTransport(tcp);
  let driver: ReplicaDriver;
  try {
    driver = await ReplicaDriver.open({
      name: config.name,
      clusterId: config.clusterId,
      members: config.members.map((member) => ({
        name: member.name,
        id: member.id,
        peerUrls: member.peerUrls,
        clientUrls: member.id === config.memberId ? config.advertiseClientUrls : [],
      })),
      dataDir: config.dataDir,
      transport: replication,
      stateMachine: new KvStateMachine(),
      tickMs: config.heartbeatIntervalMs,
      electionTimeoutTicks: Math.max(
        2,
        Math.round(config.electionTimeoutMs / config.heartbeatIntervalMs),
      ),
      snapshotCount: config.snapshotCount,
      logger,
      metrics,
    });
  } catch (error) {
    await tcp.close();
    throw error;
  }
  return {
    replica: driver,
    nodeTransport: node,
    failed: driver.failed,
    transferLeadership: () => driver.transferLeadership(),
    close: async () => {
      await driver.close();
      await tcp.close();
    },
  };
}
