/**
 * kv-bench: a closed-loop load generator for the etcd v3 API, over the JSON gateway with HTTP
 * keep-alive (`--protocol http`, the default) or over gRPC with grpc-js (`--protocol grpc`), so it
 * drives kv-node and a real etcd 3.4 alike.
 *
 *   node dist-bench/kv-bench.js --endpoints http://127.0.0.1:2379 --workload put --clients 64
 *
 * Workloads: put, range (linearizable), range-serializable, range-keys (a linearizable range over
 * all `--keys` keys at once, checked to return that many), txn-cas (compare-and-swap on each
 * client's own key), mixed (half puts, half linearizable ranges). Each client sends one request,
 * waits for the answer, and sends the next. The `--keys` keys are used in turn, or at random with
 * `--random-keys`; read workloads write them first unless `--no-fill` (they are loaded already).
 * Output: one JSON object on stdout.
 */

import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import type { Client as GrpcChannelClient, ServiceError } from '@grpc/grpc-js';
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { etcdServices } from '../src/grpc/etcd-proto.js';

type Workload = 'put' | 'range' | 'range-serializable' | 'range-keys' | 'txn-cas' | 'mixed';
const WORKLOADS: readonly Workload[] = [
  'put',
  'range',
  'range-serializable',
  'range-keys',
  'txn-cas',
  'mixed',
];

/** How the load generator talks to the endpoints. */
export type BenchProtocol = 'http' | 'grpc';

/** Benchmark settings. */
export interface BenchOptions {
  endpoints: string[];
  /** Default `http` (the JSON gateway). */
  protocol?: BenchProtocol;
  workload: Workload;
  clients: number;
  /** Keep-alive connections per endpoint (shared by the clients using it). */
  connections: number;
  durationSeconds: number;
  valueBytes: number;
  /** Distinct keys written and read. */
  keys: number;
  /** Quorum mode: the consistency level sent as `X-Kv-Consistency` (default: none sent). */
  consistency?: string;
  /** Each request picks one of the keys at random (default: the keys in turn). */
  randomKeys?: boolean;
  /** Skip writing the keys before a read workload (they are there already). */
  noFill?: boolean;
}

/** Benchmark result. */
export interface BenchResult {
  protocol: BenchProtocol;
  workload: Workload;
  endpoints: number;
  clients: number;
  connections: number;
  valueBytes: number;
  durationSeconds: number;
  requests: number;
  errors: number;
  throughput: number;
  /** Body bytes of the successful responses (as received, before any parsing). */
  responseBytes: number;
  /** `responseBytes` per second of the run. */
  responseBytesPerSecond: number;
  /** CPU seconds (user + system) this load generator used while measuring. */
  clientCpuSeconds: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** The key of index `index` that every workload (and `large-data.bench.ts`'s load) uses. */
export function benchKey(index: number): string {
  return `bench/key-${String(index).padStart(8, '0')}`;
}

/** The range of every `benchKey`: from the prefix to the prefix with its last byte plus one. */
const BENCH_KEYS_RANGE = JSON.stringify({ key: b64('bench/key-'), range_end: b64('bench/key.') });

/** The `count` a range answer ends with (etcd's field order puts it last), or undefined. */
function rangeCount(body: string): number | undefined {
  const match = /"count":"?(\d+)"?\}\s*$/.exec(body.slice(-64));
  return match === null ? undefined : Number(match[1]);
}

/** Sends one gateway-shaped request and answers with its status and body. */
export interface BenchClient {
  post(
    endpointIndex: number,
    path: string,
    body: string,
  ): Promise<{ status: number; body: string }>;
  close(): void;
}

class HttpClient implements BenchClient {
  readonly #agents: Agent[];
  readonly #endpoints: URL[];

  readonly #extraHeaders: Record<string, string>;

  constructor(endpoints: string[], connections: number, extraHeaders: Record<string, string> = {}) {
    this.#extraHeaders = extraHeaders;
    this.#endpoints = endpoints.map((endpoint) => new URL(endpoint));
    this.#agents = this.#endpoints.map(
      () => new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections }),
    );
  }

  post(
    endpointIndex: number,
    path: string,
    body: string,
  ): Promise<{ status: number; body: string }> {
    const index = endpointIndex % this.#endpoints.length;
    const endpoint = this.#endpoints[index] as URL;
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          host: endpoint.hostname,
          port: endpoint.port,
          path,
          method: 'POST',
          agent: this.#agents[index],
          headers: {
            ...this.#extraHeaders,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
          response.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  close(): void {
    for (const agent of this.#agents) agent.destroy();
  }
}

/** The KV method behind each gateway path the workloads use. */
const GRPC_METHODS: Record<string, string> = {
  '/v3/kv/put': 'Put',
  '/v3/kv/range': 'Range',
  '/v3/kv/txn': 'Txn',
};

type UnaryCall = (
  request: unknown,
  callback: (error: ServiceError | null, response?: unknown) => void,
) => void;

/**
 * The same requests over gRPC: kv-node decodes etcd's messages into the gateway's shapes, so the
 * workloads' JSON bodies are the request objects. `connections` channels per endpoint, each its
 * own HTTP/2 connection (a local subchannel pool), shared by the clients that use it.
 */
class GrpcClient implements BenchClient {
  readonly #endpoints: string[];
  readonly #connections: number;
  readonly #channels = new Map<string, GrpcChannelClient>();
  readonly #Kv = makeGenericClientConstructor(
    // Bundled into dist-bench/: the protos are found in src/grpc/proto/ (see etcd-proto.ts).
    etcdServices().kv,
    'KV',
  );

  constructor(endpoints: string[], connections: number) {
    this.#endpoints = endpoints.map((endpoint) => new URL(endpoint).host);
    this.#connections = connections;
  }

  #channel(clientIndex: number): GrpcChannelClient {
    const endpoint = clientIndex % this.#endpoints.length;
    const slot = Math.floor(clientIndex / this.#endpoints.length) % this.#connections;
    const name = `${endpoint}/${slot}`;
    let channel = this.#channels.get(name);
    if (channel === undefined) {
      channel = new this.#Kv(this.#endpoints[endpoint] as string, credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.enable_channelz': 0,
      });
      this.#channels.set(name, channel);
    }
    return channel;
  }

  post(clientIndex: number, path: string, body: string): Promise<{ status: number; body: string }> {
    const channel = this.#channel(clientIndex) as unknown as Record<string, UnaryCall>;
    const method = channel[GRPC_METHODS[path] as string] as UnaryCall;
    return new Promise((resolve) => {
      method.call(channel, JSON.parse(body), (error, response) =>
        resolve(
          error === null
            ? { status: 200, body: JSON.stringify(response) }
            : { status: 500, body: error.message },
        ),
      );
    });
  }

  close(): void {
    for (const channel of this.#channels.values()) channel.close();
  }
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return Math.round((sorted[Math.max(0, index)] as number) * 1000) / 1000;
}

/**
 * A client for `endpoints` over the JSON gateway or gRPC, `connections` per endpoint; request `i`
 * of `post(i, ...)` goes to endpoint `i` modulo their number.
 */
export function createBenchClient(
  endpoints: string[],
  protocol: BenchProtocol,
  connections: number,
  extraHeaders: Record<string, string> = {},
): BenchClient {
  return protocol === 'grpc'
    ? new GrpcClient(endpoints, connections)
    : new HttpClient(endpoints, connections, extraHeaders);
}

/** Runs one benchmark and returns its result. */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const protocol = options.protocol ?? 'http';
  const client = createBenchClient(
    options.endpoints,
    protocol,
    options.connections,
    options.consistency === undefined ? {} : { 'x-kv-consistency': options.consistency },
  );
  const value = b64('x'.repeat(options.valueBytes));
  const keyOf = (index: number): string => b64(benchKey(index));
  try {
    if (options.workload !== 'put' && options.noFill !== true) {
      // Fill the keys that reads will find.
      for (let index = 0; index < options.keys; index += 64) {
        await Promise.all(
          Array.from({ length: Math.min(64, options.keys - index) }, (_, offset) =>
            fillKey(client, keyOf(index + offset), value),
          ),
        );
      }
    }
    const casValues = new Map<number, string>();
    if (options.workload === 'txn-cas') {
      for (let clientIndex = 0; clientIndex < options.clients; clientIndex++) {
        casValues.set(clientIndex, b64('0'));
        await client.post(
          clientIndex,
          '/v3/kv/put',
          JSON.stringify({ key: b64(`bench/cas-${clientIndex}`), value: b64('0') }),
        );
      }
    }
    let latencies = new Float64Array(1 << 16);
    let requests = 0;
    let errors = 0;
    let responseBytes = 0;
    const counted = (response: { status: number; body: string }): boolean => {
      if (!ok(response)) return false;
      // The gateway's JSON is ASCII (base64 keys and values): one character, one byte.
      responseBytes += response.body.length;
      return true;
    };
    const record = (milliseconds: number): void => {
      if (requests === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[requests++] = milliseconds;
    };
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const deadline = started + options.durationSeconds * 1000;
    let sequence = 0;
    const oneRequest = async (clientIndex: number): Promise<boolean> => {
      const turn = sequence++;
      const key = keyOf(
        options.randomKeys === true
          ? Math.floor(Math.random() * options.keys)
          : turn % options.keys,
      );
      const workload =
        options.workload === 'mixed' ? (sequence % 2 === 0 ? 'put' : 'range') : options.workload;
      switch (workload) {
        case 'put':
          return counted(
            await client.post(clientIndex, '/v3/kv/put', JSON.stringify({ key, value })),
          );
        case 'range':
          return counted(await client.post(clientIndex, '/v3/kv/range', JSON.stringify({ key })));
        case 'range-keys': {
          // Only the count is checked: parsing megabytes of JSON would spend the client's CPU.
          const response = await client.post(clientIndex, '/v3/kv/range', BENCH_KEYS_RANGE);
          return rangeCount(response.body) === options.keys && counted(response);
        }
        case 'range-serializable':
          return counted(
            await client.post(
              clientIndex,
              '/v3/kv/range',
              JSON.stringify({ key, serializable: true }),
            ),
          );
        case 'txn-cas': {
          const casKey = b64(`bench/cas-${clientIndex}`);
          const next = b64(String(sequence));
          const response = await client.post(
            clientIndex,
            '/v3/kv/txn',
            JSON.stringify({
              compare: [
                {
                  target: 'VALUE',
                  result: 'EQUAL',
                  key: casKey,
                  value: casValues.get(clientIndex),
                },
              ],
              success: [{ request_put: { key: casKey, value: next } }],
            }),
          );
          if (!ok(response) || !(JSON.parse(response.body) as { succeeded?: boolean }).succeeded) {
            return false;
          }
          casValues.set(clientIndex, next);
          return counted(response);
        }
      }
    };
    await Promise.all(
      Array.from({ length: options.clients }, async (_, clientIndex) => {
        while (performance.now() < deadline) {
          const before = performance.now();
          let succeeded = false;
          try {
            succeeded = await oneRequest(clientIndex);
          } catch {
            succeeded = false;
          }
          if (succeeded) record(performance.now() - before);
          else errors++;
        }
      }),
    );
    const elapsedSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const sorted = latencies.slice(0, requests).sort();
    let sum = 0;
    for (const latency of sorted) sum += latency;
    return {
      protocol,
      workload: options.workload,
      endpoints: options.endpoints.length,
      clients: options.clients,
      connections: options.connections,
      valueBytes: options.valueBytes,
      durationSeconds: Math.round(elapsedSeconds * 100) / 100,
      requests,
      errors,
      throughput: Math.round(requests / elapsedSeconds),
      responseBytes,
      responseBytesPerSecond: Math.round(responseBytes / elapsedSeconds),
      clientCpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
      latencyMs: {
        p50: percentile(sorted, 0.5),
        p90: percentile(sorted, 0.9),
        p99: percentile(sorted, 0.99),
        max: percentile(sorted, 1),
        mean: requests === 0 ? 0 : Math.round((sum / requests) * 1000) / 1000,
      },
    };
  } finally {
    client.close();
  }
}

/**
 * Writes one key before a read workload, trying up to five times: the fill is not measured, and
 * one lost connection should not end the run.
 */
async function fillKey(client: BenchClient, key: string, value: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      if (ok(await client.post(0, '/v3/kv/put', JSON.stringify({ key, value })))) return;
      if (attempt >= 5) throw new Error(`filling ${key}: no success in ${attempt} attempts`);
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

function ok(response: { status: number }): boolean {
  return response.status === 200;
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      endpoints: { type: 'string', default: 'http://127.0.0.1:2379' },
      protocol: { type: 'string', default: 'http' },
      workload: { type: 'string', default: 'put' },
      clients: { type: 'string', default: '64' },
      connections: { type: 'string', default: '' },
      duration: { type: 'string', default: '10' },
      'value-size': { type: 'string', default: '100' },
      keys: { type: 'string', default: '10000' },
      consistency: { type: 'string', default: '' },
      'random-keys': { type: 'boolean', default: false },
      'no-fill': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const workload = values.workload as Workload;
  if (!WORKLOADS.includes(workload)) {
    throw new Error(`--workload must be one of ${WORKLOADS.join(', ')}`);
  }
  const clients = Number(values.clients);
  if (values.protocol !== 'http' && values.protocol !== 'grpc') {
    throw new Error('--protocol must be http or grpc');
  }
  return {
    endpoints: values.endpoints.split(',').filter((endpoint) => endpoint !== ''),
    protocol: values.protocol,
    workload,
    clients,
    connections: values.connections === '' ? clients : Number(values.connections),
    durationSeconds: Number(values.duration),
    valueBytes: Number(values['value-size']),
    keys: Number(values.keys),
    ...(values.consistency === '' ? {} : { consistency: values.consistency }),
    randomKeys: values['random-keys'],
    noFill: values['no-fill'],
  };
}

const isMain = process.argv[1]?.endsWith('kv-bench.js') === true;
if (isMain) {
  runBench(parseOptions(process.argv.slice(2))).then(
    (result) => console.log(JSON.stringify(result)),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
