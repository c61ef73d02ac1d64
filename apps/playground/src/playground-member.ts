import { LeaderFollowerNode, type NodeObserver, type Transport } from '@x/leader-follower';
import type { NodePorts } from '@x/simulation';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Timing and log sizes of every member. Election timing is the package's default (100 ms ticks,
 * 1000-2000 ms election timeout, so what the reader sees is what kv-node does); snapshots are
 * taken every few entries so the low-water mark moves within a short run.
 */
export const memberTuning = {
  snapshotEveryEntries: 8,
  retainEntriesAfterSnapshot: 2,
  proposalTimeoutMs: 3_000,
  readTimeoutMs: 3_000,
} as const;

/**
 * One member of the playground's cluster: the real {@link LeaderFollowerNode} on the simulator's
 * ports, replicating a tiny key-value map (commands are `key=value`).
 */
export class PlaygroundMember {
  private constructor(
    /** The member's name (athens, byzantium, ...). */
    readonly name: string,
    /** The real node: election, replication, snapshots. */
    readonly node: LeaderFollowerNode,
    /** The applied state: what a read on this member would see. */
    readonly values: ReadonlyMap<string, string>,
  ) {}

  /**
   * Opens the member's log from its (simulated) disk and starts it.
   * @param transport the simulator's transport, possibly wrapped to watch messages.
   */
  static async open(
    ports: NodePorts,
    transport: Transport,
    observer: NodeObserver,
  ): Promise<PlaygroundMember> {
    const values = new Map<string, string>();
    const node = await LeaderFollowerNode.open({
      id: ports.name,
      members: [ports.name, ...ports.peers].sort(),
      transport,
      fileSystem: ports.fs,
      dataDirectory: '/data',
      clock: ports.clock,
      timers: ports.timers,
      random: ports.random,
      logger: ports.logger,
      observer,
      onFatalError: (error) => ports.halt(error),
      ...memberTuning,
      wal: { maxSegmentBytes: 64 * 1024 },
      stateMachine: {
        apply: (_index, command) => {
          const [key, value] = decoder.decode(command).split('=') as [string, string];
          values.set(key, value);
        },
        snapshot: () => encoder.encode(JSON.stringify([...values])),
        restore: (snapshot) => {
          values.clear();
          for (const [key, value] of JSON.parse(decoder.decode(snapshot)) as [string, string][]) {
            values.set(key, value);
          }
        },
      },
    });
    node.start();
    return new PlaygroundMember(ports.name, node, values);
  }

  /** Proposes `key=value`; resolves once it is applied here (see LeaderFollowerNode.propose). */
  async put(key: string, value: string): Promise<void> {
    await this.node.propose(encoder.encode(`${key}=${value}`));
  }
}

/** The text of a command as the log shows it. */
export function commandText(command: Uint8Array): string {
  return decoder.decode(command);
}
