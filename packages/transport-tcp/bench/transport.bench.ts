// Throughput of @x/transport-tcp between two processes on loopback, against a raw node:net
// baseline that moves the same bytes in the same run. The parent is the client; it forks itself
// as the server (`--server`), learns the ports over IPC and kills the child by pid at the end.
// Prints one JSON document on stdout.
import { fork } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { cpus } from 'node:os';
import { TcpTransport } from '../src/index.js';

const SECRET = 'bench-secret';
const SMALL_BYTES = 128;
const LARGE_BYTES = 1024 * 1024;
const HEADER_BYTES = 12;
const ONE_WAY_COUNT = Number(process.env.BENCH_ONE_WAY ?? 500_000);
const REQUEST_COUNT = Number(process.env.BENCH_REQUESTS ?? 200_000);
const LARGE_COUNT = Number(process.env.BENCH_LARGE ?? 512);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WINDOW = 256;
/**
 * Requests in flight in the small-window case: a few frames per socket write, so every write is
 * a record of its own, as between cluster members (an append or two, an acknowledgement).
 */
const SMALL_WINDOW = Number(process.env.BENCH_SMALL_WINDOW ?? 4);
const TYPE_DATA = 1;
const TYPE_DONE = 2;
/** Starts a measured run on the server: resets its message count and its CPU mark. */
const TYPE_MARK = 3;

interface Ports {
  transport: number;
  sink: number;
  echo: number;
}

if (process.argv.includes('--server')) {
  void runServer();
} else {
  void runClient();
}

async function runServer(): Promise<void> {
  // Exit normally on the parent's kill so `node --cpu-prof` can write the server's profile.
  process.on('SIGTERM', () => process.exit(0));
  const transport = await TcpTransport.start({
    nodeId: 'server',
    clusterId: 'bench',
    secret: SECRET,
    peers: { client: undefined },
    maxInFlightRequests: WINDOW,
  });
  let received = 0;
  let cpuMark = process.cpuUsage();
  transport.onMessage(() => {
    received += 1;
  });
  transport.onRequest((_from, type, payload) => {
    if (type === TYPE_MARK) {
      received = 0;
      cpuMark = process.cpuUsage();
      return { type, payload };
    }
    if (type === TYPE_DONE) {
      // The count of one-way messages, then the server's CPU microseconds since the mark.
      const reply = Buffer.alloc(12);
      reply.writeUInt32BE(received);
      reply.writeDoubleBE(cpuMicros(cpuMark), 4);
      received = 0;
      return { type: TYPE_DONE, payload: reply };
    }
    return { type, payload };
  });

  // Raw sink: the first 8 bytes give the total to expect; one byte back once it has all arrived.
  const sink = createServer({ noDelay: true }, (socket) => {
    let expected = -1;
    let seen = 0;
    socket.on('data', (chunk: Buffer) => {
      if (expected < 0) {
        expected = Number(chunk.readBigUInt64BE(0));
        seen = chunk.length - 8;
      } else {
        seen += chunk.length;
      }
      if (seen >= expected) socket.write(Buffer.of(1));
    });
  });
  // Raw echo: writes back what it reads, respecting backpressure.
  const echo = createServer({ noDelay: true }, (socket) => {
    socket.on('data', (chunk: Buffer) => {
      if (!socket.write(chunk)) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    });
  });
  await Promise.all([listen(sink), listen(echo)]);
  const ports: Ports = {
    transport: transport.address.port,
    sink: portOf(sink),
    echo: portOf(echo),
  };
  process.send!(ports);
}

async function runClient(): Promise<void> {
  const child = fork(new URL(import.meta.url).pathname, ['--server'], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  try {
    const ports = await new Promise<Ports>((resolve) =>
      child.once('message', (message) => resolve(message as Ports)),
    );
    const client = await TcpTransport.start({
      nodeId: 'client',
      clusterId: 'bench',
      secret: SECRET,
      peers: { server: { host: '127.0.0.1', port: ports.transport } },
      maxInFlightRequests: WINDOW,
      maxQueuedMessages: 1_000_000,
      maxQueuedBytes: 1024 * 1024 * 1024,
      requestTimeoutMs: 60_000,
    });
    await until(() => client.isConnected('server'));

    const results: Record<string, unknown> = {};
    // BENCH_CASES=requests (comma-separated) runs a subset, e.g. under `node --cpu-prof`.
    const cases = (process.env.BENCH_CASES ?? 'one-way,requests,small-window,large').split(',');
    if (cases.includes('one-way')) {
      results.oneWay128 = await measure('msgs/s', ONE_WAY_COUNT, {
        transport: (count) => transportOneWay(client, count, SMALL_BYTES),
        rawPerMessage: (count) => rawOneWay(ports.sink, count, SMALL_BYTES, 'per-message'),
        rawPreBatched: (count) => rawOneWay(ports.sink, count, SMALL_BYTES, 'pre-batched'),
      });
    }
    if (cases.includes('requests')) {
      results.requestResponse128Window256 = await measure('req/s', REQUEST_COUNT, {
        transport: (count) => transportRequests(client, count),
        rawPerMessage: (count) => rawRequests(ports.echo, count, 'per-message'),
        rawPreBatched: (count) => rawRequests(ports.echo, count, 'pre-batched'),
      });
    }
    if (cases.includes('small-window')) {
      results[`requestResponse128Window${SMALL_WINDOW}`] = await measure(
        'req/s',
        REQUEST_COUNT / 4,
        {
          transport: (count) => transportRequests(client, count, SMALL_WINDOW),
          rawPerMessage: (count) => rawRequests(ports.echo, count, 'per-message', SMALL_WINDOW),
        },
      );
    }
    if (cases.includes('large')) {
      // One write per 1 MiB message is already a batch: the two raw baselines coincide.
      results.oneWay1MiB = await measure(
        'MB/s',
        LARGE_COUNT,
        {
          transport: (count) => transportOneWay(client, count, LARGE_BYTES),
          rawPerMessage: (count) => rawOneWay(ports.sink, count, LARGE_BYTES, 'per-message'),
        },
        LARGE_BYTES / 1e6,
      );
    }
    await client.close();
    process.stdout.write(
      JSON.stringify(
        {
          benchmark: '@x/transport-tcp',
          node: process.version,
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model,
          counts: { oneWay: ONE_WAY_COUNT, requests: REQUEST_COUNT, large: LARGE_COUNT },
          rounds: ROUNDS,
          results,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    if (child.pid !== undefined) process.kill(child.pid);
  }
}

/** Sends `count` one-way messages then a request; the response proves all arrived (same channel, in order). */
async function transportOneWay(
  client: TcpTransport,
  count: number,
  bytes: number,
): Promise<RunResult> {
  const payload = Buffer.alloc(bytes, 7);
  await client.request('server', TYPE_MARK, new Uint8Array(0));
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  let sent = 0;
  while (sent < count) {
    const batch = Math.min(count - sent, Math.max(1, Math.floor((4 * 1024 * 1024) / bytes)), 4096);
    for (let index = 0; index < batch; index += 1) client.send('server', TYPE_DATA, payload);
    sent += batch;
    // Stay well inside the queue bound (queued plus unacknowledged), as a real producer would.
    // Sleep rather than spin: a spinning producer steals the CPU the receiver needs.
    for (;;) {
      const peer = client.metrics().peers.server!;
      if (peer.queuedBytes <= 32 * 1024 * 1024 && peer.queuedMessages <= 200_000) break;
      await sleep(1);
    }
  }
  const reply = await client.request('server', TYPE_DONE, new Uint8Array(0));
  const seconds = (performance.now() - started) / 1000;
  const answer = Buffer.from(reply.payload);
  const received = answer.readUInt32BE(0);
  if (received !== count) throw new Error(`server received ${received} of ${count}`);
  return { seconds, cpuMicros: { client: cpuMicros(cpuStart), server: answer.readDoubleBE(4) } };
}

/** CPU microseconds (user + system) this process spent since `mark`. */
function cpuMicros(mark: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(mark);
  return used.user + used.system;
}

/**
 * Raw baselines moving the same framed bytes, backpressure respected. `per-message`: one
 * `socket.write` per message, as a plain node:net user would. `pre-batched`: 64 KiB blocks built
 * in advance, a pure byte pump with no per-message work at all (an upper bound, not a peer).
 */
type RawMode = 'per-message' | 'pre-batched';

async function rawOneWay(
  port: number,
  count: number,
  bytes: number,
  mode: RawMode,
): Promise<RunResult> {
  const socket = await open(port);
  const frameBytes = HEADER_BYTES + bytes;
  const total = frameBytes * count;
  const framesPerWrite =
    mode === 'per-message' ? 1 : Math.max(1, Math.floor((64 * 1024) / frameBytes));
  const block = Buffer.alloc(frameBytes * framesPerWrite, 7);
  const done = new Promise<void>((resolve) => socket.once('data', () => resolve()));
  const started = performance.now();
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(total));
  socket.write(head);
  let sent = 0;
  while (sent < count) {
    const frames = Math.min(framesPerWrite, count - sent);
    const ok = socket.write(
      frames === framesPerWrite ? block : block.subarray(0, frames * frameBytes),
    );
    sent += frames;
    if (!ok) await new Promise((resolve) => socket.once('drain', resolve));
  }
  await done;
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  return { seconds };
}

/** `count` echo requests of 128 bytes with `window` in flight. */
async function transportRequests(
  client: TcpTransport,
  count: number,
  window = WINDOW,
): Promise<RunResult> {
  const payload = Buffer.alloc(SMALL_BYTES, 3);
  await client.request('server', TYPE_MARK, new Uint8Array(0));
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  let issued = 0;
  await new Promise<void>((resolve, reject) => {
    let completed = 0;
    const issue = (): void => {
      issued += 1;
      client.request('server', TYPE_DATA, payload).then(() => {
        completed += 1;
        if (issued < count) issue();
        else if (completed === count) resolve();
      }, reject);
    };
    for (let index = 0; index < window && index < count; index += 1) issue();
  });
  const seconds = (performance.now() - started) / 1000;
  const reply = await client.request('server', TYPE_DONE, new Uint8Array(0));
  const server = Buffer.from(reply.payload).readDoubleBE(4);
  return { seconds, cpuMicros: { client: cpuMicros(cpuStart), server } };
}

/** The same request and response bytes over a raw echo socket, `window` frames outstanding. */
async function rawRequests(
  port: number,
  count: number,
  mode: RawMode,
  window = WINDOW,
): Promise<RunResult> {
  const socket = await open(port);
  const frameBytes = HEADER_BYTES + SMALL_BYTES;
  const frame = Buffer.alloc(frameBytes, 3);
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let issued = 0;
    let receivedBytes = 0;
    const issue = (frames: number): void => {
      // pre-batched gathers one read's worth of requests into one syscall.
      if (mode === 'pre-batched') socket.cork();
      for (let index = 0; index < frames && issued < count; index += 1, issued += 1)
        socket.write(frame);
      if (mode === 'pre-batched') socket.uncork();
    };
    socket.on('data', (chunk: Buffer) => {
      const before = Math.floor(receivedBytes / frameBytes);
      receivedBytes += chunk.length;
      const completed = Math.floor(receivedBytes / frameBytes);
      if (completed >= count) resolve();
      else issue(completed - before);
    });
    issue(window);
  });
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  return { seconds };
}

/**
 * One measured run: its wall time, and for the transport the CPU both processes spent on it
 * (the raw baselines' CPU is mostly the kernel's and is not measured). CPU per message holds
 * steady on a loaded machine where throughput does not.
 */
interface RunResult {
  seconds: number;
  cpuMicros?: { client: number; server: number };
}

type Runner = (count: number) => Promise<RunResult>;

/**
 * Runs every contender `ROUNDS` times, interleaved (transport, raw, pump, transport, ...), after
 * one short warm-up each, and reports the median throughput of each and the ratios of medians.
 * Interleaving and medians keep a noisy shared machine from favouring whoever ran in a quiet moment.
 */
async function measure(
  unit: string,
  count: number,
  runners: Record<string, Runner>,
  unitsPerItem = 1,
): Promise<Record<string, unknown>> {
  const samples: Record<string, number[]> = {};
  const cpuPerItem = { client: [] as number[], server: [] as number[] };
  for (const [name, run] of Object.entries(runners)) {
    await run(Math.max(1, Math.floor(count / 10)));
    samples[name] = [];
  }
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [name, run] of Object.entries(runners)) {
      const { seconds, cpuMicros } = await run(count);
      samples[name]!.push((count * unitsPerItem) / seconds);
      if (cpuMicros !== undefined) {
        cpuPerItem.client.push(cpuMicros.client / count);
        cpuPerItem.server.push(cpuMicros.server / count);
      }
    }
  }
  const medians = Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [name, Math.round(median(values))]),
  );
  const result: Record<string, unknown> = { unit, ...medians };
  for (const baseline of ['rawPerMessage', 'rawPreBatched']) {
    if (medians[baseline] !== undefined) {
      result[`ratioTo${baseline[0]!.toUpperCase()}${baseline.slice(1)}`] = Number(
        (medians.transport! / medians[baseline]).toFixed(3),
      );
    }
  }
  if (cpuPerItem.client.length > 0) {
    // Median CPU microseconds per message (per request: both directions) in each process.
    result.transportCpuMicrosPerMessage = {
      client: Number(median(cpuPerItem.client).toFixed(2)),
      server: Number(median(cpuPerItem.server).toFixed(2)),
    };
  }
  result.samples = Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [name, values.map(Math.round)]),
  );
  return result;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function listen(server: ReturnType<typeof createServer>): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function portOf(server: ReturnType<typeof createServer>): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return address.port;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
