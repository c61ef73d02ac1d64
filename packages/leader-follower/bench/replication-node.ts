// One server of the loopback benchmark: real WAL (fdatasync, group commit) + real TCP. The parent
// process (replication.bench.ts) drives it over IPC.
import { TcpTransport } from '@x/transport-tcp';
import { NodeFileSystem, nodeClock, nodeTimers } from '@x/wal';
import { LeaderFollowerNode } from '../src/index.js';
import { summarize } from './latency-summary.js';

const [id = '', directory = '', portsJson = '{}'] = process.argv.slice(2);
const ports = JSON.parse(portsJson) as Record<string, number>;
const members = Object.keys(ports).sort();

const transport = await TcpTransport.start({
  nodeId: id,
  clusterId: 'bench',
  secret: 'bench-secret',
  listen: { host: '127.0.0.1', port: ports[id] ?? 0 },
  peers: Object.fromEntries(
    members.map((name) => [
      name,
      name === id ? undefined : { host: '127.0.0.1', port: ports[name] ?? 0 },
    ]),
  ),
  maxQueuedMessages: 1_000_000,
  maxQueuedBytes: 1024 * 1024 * 1024,
});

let applied = 0;
const node = await LeaderFollowerNode.open({
  id,
  members,
  transport,
  fileSystem: new NodeFileSystem(),
  dataDirectory: directory,
  clock: nodeClock,
  timers: nodeTimers,
  random: { next: Math.random },
  stateMachine: {
    apply: (index) => {
      applied++;
      return index;
    },
    snapshot: () => new Uint8Array(8),
    restore: () => undefined,
  },
});
node.start();

interface LoadRequest {
  kind: 'load';
  concurrency: number;
  durationMs: number;
  entryBytes: number;
}

async function load(request: LoadRequest): Promise<unknown> {
  const payload = new Uint8Array(request.entryBytes).fill(7);
  const latencies: number[] = [];
  const end = performance.now() + request.durationMs;
  let failures = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const start = performance.now();
      try {
        await node.propose(payload);
        latencies.push(performance.now() - start);
      } catch {
        failures++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: request.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return {
    concurrency: request.concurrency,
    committed: latencies.length,
    failures,
    entriesPerSecond: Math.round(latencies.length / seconds),
    latencyMs: summarize(latencies),
  };
}

process.on('message', (message: { kind: string }) => {
  void (async () => {
    if (message.kind === 'status') {
      process.send?.({ kind: 'status', id, role: node.role, applied });
    } else if (message.kind === 'load') {
      process.send?.({ kind: 'result', result: await load(message as unknown as LoadRequest) });
    } else if (message.kind === 'stop') {
      await node.close();
      await transport.close();
      process.exit(0);
    }
  })();
});
process.send?.({ kind: 'ready', id });
