/**
 * The floor under kv-node's gRPC and HTTP/1.1 paths on this machine: a bare grpc-js server whose
 * KV.Put answers at once (etcd's .proto, the same decoding options as kv-node) and a bare
 * `node:http` server that parses the JSON body and answers a fixed header, each driven by kv-bench
 * (put, 64 clients) in its own process. Prints one JSON object per run with the server's CPU per
 * request and its write system calls per request (from /proc on Linux), which stay comparable on a
 * busy machine where throughput does not.
 *
 * A third server, `grpc same-port`, is the same grpc-js server reached as kv-node's was before
 * its own server: an HTTP server's connections handed over by `serveGrpcOnSamePort` (the preface
 * sniff and the `:authority` filter of `src/grpc/`), so the difference to `bare grpc` is the
 * hand-over's cost. `lean` and `lean same-port` are kv-node's gRPC server (`src/grpc/server/`)
 * with the same method, on its own connections and through the same hand-over.
 *
 * Environment: SECONDS_PER_RUN (default 4), CLIENTS (kv-bench's --clients; default 64),
 * CONNECTIONS (kv-bench's --connections; default: one per client), ROUNDS (default 2; each round
 * measures each server in turn), SERVERS (which, comma-separated; default
 * `http,grpc,grpc-same-port,lean,lean-same-port`), WARMUP_SECONDS (an unmeasured run against each
 * server first; default 2), TOGETHER (`1`: run the servers of a round at the same time, each with
 * its own kv-bench, so that on a busy machine they share the same load, for a comparison of
 * their costs; their throughputs then divide the machine).
 */

import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { freePort } from '../../../tools/net/free-port.js';
import { etcdServices } from '../src/grpc/etcd-proto.js';
import { serveGrpcOnSamePort } from '../src/grpc/same-port.js';
import { INSTANT_PUT_HEADER, instantPut, instantPutGrpcServer } from './instant-put-server.js';

const run = promisify(execFile);

type ServerKind = 'http' | 'grpc' | 'grpc-same-port' | 'lean' | 'lean-same-port';

const SERVER_NAMES: Record<ServerKind, string> = {
  http: 'bare http',
  grpc: 'bare grpc',
  'grpc-same-port': 'grpc same-port',
  lean: 'lean',
  'lean-same-port': 'lean same-port',
};

/** Runs as the server process: `grpc-floor.bench.js serve <kind> <port>`. */
function serve(kind: string, port: number): void {
  if (kind === 'lean' || kind === 'lean-same-port') {
    const server = instantPutGrpcServer(4 * 1024 * 1024);
    if (kind === 'lean') {
      createNetServer({ noDelay: true }, (socket) => server.injectConnection(socket)).listen(
        port,
        '127.0.0.1',
      );
      return;
    }
    const http = createHttpServer({ noDelay: true }, (_request, response) => response.end());
    serveGrpcOnSamePort(
      http,
      {
        injectConnection: (connection) => server.injectConnection(connection),
        close: () => server.destroy(),
      },
      // The same limit on one received message as the grpc-js servers below.
      4 * 1024 * 1024,
    );
    http.listen(port, '127.0.0.1');
    return;
  }
  if (kind === 'grpc' || kind === 'grpc-same-port') {
    const server = new Server({ 'grpc.enable_channelz': 0 });
    server.addService(etcdServices().kv, instantPut);
    if (kind === 'grpc') {
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), () => undefined);
      return;
    }
    const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
    const http = createHttpServer({ noDelay: true }, (_request, response) => response.end());
    serveGrpcOnSamePort(
      http,
      {
        injectConnection: (connection) => injector.injectConnection(connection),
        close: () => injector.destroy(),
      },
      // grpc-js's default limit on a received message.
      4 * 1024 * 1024,
    );
    http.listen(port, '127.0.0.1');
    return;
  }
  const body = JSON.stringify({ header: INSTANT_PUT_HEADER });
  createHttpServer({ noDelay: true }, (request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      JSON.parse(text);
      response.setHeader('content-type', 'application/json');
      response.end(body);
    });
  }).listen(port, '127.0.0.1');
}

async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The write system calls `pid` made so far (`syscw` of /proc/<pid>/io). */
async function writeCalls(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  return Number(/^syscw: (\d+)$/m.exec(io)?.[1] ?? NaN);
}

async function measure(kind: ServerKind): Promise<void> {
  const port = await freePort();
  const server = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), 'serve', kind, String(port)],
    {
      stdio: 'ignore',
    },
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const pid = server.pid as number;
    const bench = (seconds: string) =>
      run(process.execPath, [
        fileURLToPath(new URL('./kv-bench.js', import.meta.url)),
        '--endpoints',
        `http://127.0.0.1:${port}`,
        '--protocol',
        kind === 'http' ? 'http' : 'grpc',
        '--workload',
        'put',
        '--clients',
        process.env.CLIENTS ?? '64',
        '--connections',
        process.env.CONNECTIONS ?? process.env.CLIENTS ?? '64',
        '--duration',
        seconds,
      ]);
    // Unmeasured: the server's code gets compiled and its connections opened, costs that would
    // otherwise weigh on the few requests of a run on a busy machine.
    await bench(process.env.WARMUP_SECONDS ?? '2');
    const before = await cpuSeconds(pid);
    const writesBefore = await writeCalls(pid);
    const { stdout } = await bench(process.env.SECONDS_PER_RUN ?? '4');
    const after = await cpuSeconds(pid);
    const writes = (await writeCalls(pid)) - writesBefore;
    const result = JSON.parse(stdout) as {
      requests: number;
      throughput: number;
      latencyMs: { p50: number };
    };
    console.log(
      JSON.stringify({
        server: SERVER_NAMES[kind],
        requests: result.requests,
        throughput: result.throughput,
        latencyMs: result.latencyMs,
        serverCpuMsPerRequest: Math.round((1e6 * (after - before)) / result.requests) / 1000,
        // Socket writes per call: each one a system call, and a wake-up of the client.
        serverWritesPerRequest: Math.round((100 * writes) / result.requests) / 100,
      }),
    );
  } finally {
    server.kill('SIGKILL');
  }
}

if (process.argv[2] === 'serve') {
  serve(process.argv[3] ?? 'http', Number(process.argv[4]));
} else {
  const kinds = (process.env.SERVERS ?? 'http,grpc,grpc-same-port,lean,lean-same-port').split(
    ',',
  ) as ServerKind[];
  for (let round = 0; round < Number(process.env.ROUNDS ?? 2); round++) {
    // Side by side, the servers share whatever else loads the machine at the same moments.
    if (process.env.TOGETHER === '1') await Promise.all(kinds.map((kind) => measure(kind)));
    else for (const kind of kinds) await measure(kind);
  }
}
