/**
 * A quorum-mode cluster of {@link QuorumMember}s in this process, each on its own loopback peer
 * port, every peer link through a {@link LinkProxy} so a test can partition members. Stores are
 * in memory (the real-process tests use the write-ahead log).
 */

import { freePort } from '../../../../tools/net/free-port.js';
import { LinkProxy } from '../../src/cli/link-proxy.js';
import { silentLogger } from '../../src/logging/logger.js';
import { QuorumMember } from '../../src/quorum/quorum-member.js';
import { QuorumReplicaStore } from '../../src/quorum/quorum-replica-store.js';

/** Options of {@link InProcessQuorumCluster.start}. */
export interface InProcessClusterOptions {
  readonly names: readonly string[];
  readonly readQuorum?: number;
  readonly writeQuorum?: number;
  /** Milliseconds each member's wall clock is ahead of the real one (default 0). */
  readonly clockSkewMs?: Readonly<Record<string, number>>;
  /** Per member quorum settings that differ (to test the agreement check). */
  readonly writeQuorumOf?: Readonly<Record<string, number>>;
  /** `--max-clock-offset` of every member, in milliseconds (default 500). */
  readonly maxClockOffsetMs?: number;
  /** Milliseconds between background anti-entropy rounds (default 0: off). */
  readonly antiEntropyIntervalMs?: number;
  /** How old a tombstone must be before it is collected (default: the member's default). */
  readonly tombstoneGraceMs?: number;
}

/** What a test observes of one member. */
export interface MemberRecord {
  member: QuorumMember;
  fatal: Error | undefined;
  clockOffsetRefusals: number;
}

/** The cluster. */
export class InProcessQuorumCluster {
  readonly proxy: LinkProxy;
  readonly records = new Map<string, MemberRecord>();

  private constructor(proxy: LinkProxy) {
    this.proxy = proxy;
  }

  /** Starts every member and waits until each agreed with every other. */
  static async start(options: InProcessClusterOptions): Promise<InProcessQuorumCluster> {
    const { names } = options;
    const ports = new Map<string, number>();
    for (const name of names) ports.set(name, await freePort());
    const proxy = await LinkProxy.start({
      targets: names.map((name) => ({ name, host: '127.0.0.1', port: ports.get(name) as number })),
      random: { next: () => 0.5 },
    });
    const cluster = new InProcessQuorumCluster(proxy);
    const majority = Math.floor(names.length / 2) + 1;
    for (const name of names) {
      const skew = options.clockSkewMs?.[name] ?? 0;
      const record: Partial<MemberRecord> = { fatal: undefined, clockOffsetRefusals: 0 };
      const peerAddresses = Object.fromEntries(
        names.filter((peer) => peer !== name).map((peer) => [peer, proxy.linkAddress(name, peer)]),
      );
      record.member = await QuorumMember.start({
        name,
        members: names,
        peerAddresses,
        listen: { host: '127.0.0.1', port: ports.get(name) as number },
        clusterId: 'in-process',
        peerSecret: 'an in-process test secret of enough length',
        store: QuorumReplicaStore.inMemory(),
        wallClock: { now: () => Date.now() + skew },
        maxClockOffsetMs: options.maxClockOffsetMs ?? 500,
        heartbeatIntervalMs: 25,
        // Three members share this process's event loop (and the test runner's) on a possibly
        // loaded machine: a stall of a few hundred ms is not a crash here, and a false suspicion
        // would fail a quorum at once. Isolations are awaited with `untilPeers`, not timed.
        suspicionPauseMs: 1000,
        readQuorum: options.readQuorum ?? majority,
        writeQuorum: options.writeQuorumOf?.[name] ?? options.writeQuorum ?? majority,
        peerTimeoutMs: 1000,
        reconnectMaxDelayMs: 100,
        antiEntropyIntervalMs: options.antiEntropyIntervalMs ?? 0,
        ...(options.tombstoneGraceMs === undefined
          ? {}
          : { tombstoneGraceMs: options.tombstoneGraceMs }),
        logger: silentLogger,
        onFatal: (error) => {
          record.fatal = error;
        },
        observer: {
          clockOffsetRefused: () => {
            (record as MemberRecord).clockOffsetRefusals++;
          },
        },
      });
      cluster.records.set(name, record as MemberRecord);
    }
    return cluster;
  }

  /** The member called `name`. */
  member(name: string): QuorumMember {
    const record = this.records.get(name);
    if (record === undefined) throw new Error(`no member ${name}`);
    return record.member;
  }

  /** Waits until `condition` holds (checked every 10 ms), or fails after `timeoutMs`. */
  async until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Waits until `member` sees each listed peer as agreed and `suspected` as given. */
  async untilPeers(member: string, peers: readonly string[], suspected: boolean): Promise<void> {
    await this.until(`${member} sees ${peers.join(', ')} ${suspected ? 'suspected' : 'up'}`, () =>
      this.member(member)
        .peerStates()
        .filter((state) => peers.includes(state.name))
        .every((state) => state.suspected === suspected && (suspected || state.agreed)),
    );
  }

  /** Stops every member and the proxy. */
  async close(): Promise<void> {
    await Promise.all([...this.records.values()].map(({ member }) => member.close()));
    await this.proxy.close();
  }
}
