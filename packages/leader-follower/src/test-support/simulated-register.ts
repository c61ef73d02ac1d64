import {
  NodeUnavailableError,
  type ClientContext,
  type ClientOperation,
  type NodePorts,
  type OperationOutcome,
} from '@x/simulation';
import { LeaderFollowerError, NotLeaderError } from '../errors.js';
import { LeaderFollowerNode, type LeaderFollowerNodeOptions } from '../leader-follower-node.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Command =
  | { op: 'write'; key: string; value: number }
  | { op: 'cas'; key: string; expected: number; value: number };

/** What every server of a simulated cluster reports, for invariants shared across nodes. */
export interface ClusterRecord {
  /** index -> the command text applied there, by whichever server applied it first. */
  readonly applied: Map<number, string>;
  readonly violations: string[];
}

function replaceValues(values: Map<string, number>, snapshot: Uint8Array): void {
  values.clear();
  for (const [key, value] of JSON.parse(decoder.decode(snapshot)) as [string, number][]) {
    values.set(key, value);
  }
}

/** `bytes` in chunks of `size`, cut lazily as the caller iterates. */
function* chunksOf(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) {
    yield bytes.subarray(offset, offset + size);
  }
}

/** A key-value register replicated by a LeaderFollowerNode: the system under test in simulations. */
export class RegisterServer {
  readonly values = new Map<string, number>();

  private constructor(
    readonly name: string,
    readonly node: LeaderFollowerNode,
    private readonly applies: { awaited: number; unawaited: number },
  ) {}

  /** Commands this server applied with a local proposer waiting for the result. */
  get awaitedApplies(): number {
    return this.applies.awaited;
  }

  /** Commands this server applied that no local proposer waited for. */
  get unawaitedApplies(): number {
    return this.applies.unawaited;
  }

  /**
   * @param streamSnapshots when set, the state machine hands out its snapshots as small chunks
   *   and restores them with `restoreChunks` (the streaming path kv-node uses); otherwise as one
   *   buffer with `restore`.
   */
  static async create(
    ports: NodePorts,
    record: ClusterRecord,
    tuning: Partial<LeaderFollowerNodeOptions> = {},
    streamSnapshots = false,
  ): Promise<RegisterServer> {
    const values = new Map<string, number>();
    const applies = { awaited: 0, unawaited: 0 };
    const node = await LeaderFollowerNode.open({
      id: ports.name,
      members: [ports.name, ...ports.peers].sort(),
      transport: ports.transport,
      fileSystem: ports.fs,
      dataDirectory: '/data',
      clock: ports.clock,
      timers: ports.timers,
      random: ports.random,
      logger: ports.logger,
      onFatalError: (error) => ports.halt(error),
      snapshotEveryEntries: 200,
      retainEntriesAfterSnapshot: 20,
      proposalTimeoutMs: 1500,
      readTimeoutMs: 1500,
      // Small segments: more segment rolls and releases, and cheap fsyncs in the simulated disk.
      wal: { maxSegmentBytes: 64 * 1024 },
      ...tuning,
      stateMachine: {
        apply: (index, command, awaited) => {
          if (awaited) applies.awaited++;
          else applies.unawaited++;
          const text = decoder.decode(command);
          const earlier = record.applied.get(index);
          if (earlier === undefined) record.applied.set(index, text);
          else if (earlier !== text) {
            record.violations.push(`${ports.name} applied ${index}: ${text}, another ${earlier}`);
          }
          const parsed = JSON.parse(text) as Command;
          const current = values.get(parsed.key);
          if (parsed.op === 'write') {
            values.set(parsed.key, parsed.value);
            return true;
          }
          if (current !== parsed.expected) return false;
          values.set(parsed.key, parsed.value);
          return true;
        },
        snapshot: () => {
          const bytes = encoder.encode(JSON.stringify([...values]));
          return streamSnapshots ? chunksOf(bytes, 7) : bytes;
        },
        restore: (snapshot) => replaceValues(values, snapshot),
        ...(streamSnapshots
          ? {
              restoreChunks: async (chunks: AsyncIterable<Uint8Array>) => {
                const received: number[] = [];
                for await (const chunk of chunks) received.push(...chunk);
                // Only once the iteration ended without error (the checksum held).
                replaceValues(values, Uint8Array.from(received));
              },
            }
          : {}),
      },
    });
    const server = new RegisterServer(ports.name, node, applies);
    // The state machine closes over `values`; expose the same map.
    Object.defineProperty(server, 'values', { value: values });
    node.start();
    return server;
  }

  /** `paddingBytes` makes the command longer: multi-sector WAL writes can be torn at power loss. */
  async write(key: string, value: number, paddingBytes = 0): Promise<void> {
    const command = { op: 'write', key, value, padding: '.'.repeat(paddingBytes) };
    await this.node.propose(encoder.encode(JSON.stringify(command)));
  }

  async cas(key: string, expected: number, value: number): Promise<boolean> {
    const command = { op: 'cas', key, expected, value };
    return (await this.node.propose(encoder.encode(JSON.stringify(command)))) === true;
  }

  async read(key: string): Promise<number | null> {
    await this.node.readBarrier();
    return this.values.get(key) ?? null;
  }
}

/**
 * Executes one register operation the way a client library would: at the last known leader,
 * following one not-leader redirect. Definite errors are `fail`, anything else `info`.
 */
export function registerExecutor(): (
  operation: ClientOperation,
  context: ClientContext<RegisterServer>,
) => Promise<OperationOutcome> {
  let leaderGuess: string | undefined;
  return async (operation, context) => {
    const names = context.nodes.map((node) => node.name);
    let target =
      leaderGuess !== undefined && names.includes(leaderGuess)
        ? leaderGuess
        : context.random.pick(names);
    const key = operation.key ?? 'x';
    for (let attempt = 0; ; attempt++) {
      try {
        if (operation.op === 'read') {
          const value = await context.call(target, (server) => server.read(key));
          leaderGuess = target;
          return { type: 'ok', value };
        }
        if (operation.op === 'write') {
          const padding =
            context.random.next() < 0.3 ? Math.floor(context.random.next() * 3000) : 0;
          await context.call(target, (server) =>
            server.write(key, operation.value as number, padding),
          );
          leaderGuess = target;
          return { type: 'ok' };
        }
        const [expected, value] = operation.value as [number, number];
        const swapped = await context.call(target, (server) => server.cas(key, expected, value));
        leaderGuess = target;
        return swapped ? { type: 'ok' } : { type: 'fail' };
      } catch (error) {
        if (error instanceof NotLeaderError && attempt === 0) {
          target = error.leaderId ?? context.random.pick(names);
          leaderGuess = error.leaderId;
          continue;
        }
        if (error instanceof NodeUnavailableError) {
          leaderGuess = undefined;
          return { type: 'fail', error };
        }
        if (error instanceof LeaderFollowerError && error.definite) {
          if (error instanceof NotLeaderError) leaderGuess = error.leaderId;
          return { type: 'fail', error };
        }
        return { type: 'info', error };
      }
    }
  };
}
