/**
 * What each layer of the client port's hand-over to gRPC costs per call: kv-node's gRPC server
 * (`src/grpc/server/`) with a KV.Put that answers at once, its connections handed over as they
 * came (`raw`), through the request memory cap alone (`cap`, what a TLS connection gets), or
 * through the `:authority` filter and the cap (`authority+cap`, what a plain connection gets).
 * A grpc-js client in the same process sends unary calls one at a time (latency per call) and
 * then 64 at a time (CPU per call of the whole process). The layers' order alternates between
 * rounds so that a machine's changing load falls on each alike.
 *
 * Then the layers alone, without HTTP/2 or sockets: the client bytes of a call (a HEADERS and a
 * DATA frame ending its stream, once the connection's first header block passed) pushed through
 * each layer and read out, and a 100-byte answer written back through it; the CPU time per call,
 * which a busy machine changes less than wall time.
 *
 * Environment: CALLS (sequential calls per measurement; default 4000), ROUNDS (default 3),
 * LAYER_CALLS (calls through the layers alone; default 200000).
 */

import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { Metadata, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { etcdServices } from '../src/grpc/etcd-proto.js';
import { encodeHeaderBlock } from '../src/grpc/hpack.js';
import { acceptEtcdAuthority } from '../src/grpc/lenient-authority.js';
import { RequestMemoryCap } from '../src/grpc/request-memory-cap.js';
import { instantPutGrpcServer } from './instant-put-server.js';
import { http2Frame } from '../test/support/grpc-wire.js';

const CALLS = Number(process.env.CALLS ?? 4000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const LAYER_CALLS = Number(process.env.LAYER_CALLS ?? 200_000);
const MAX_MESSAGE = 1_572_864;

const LAYERS: Record<string, (socket: Socket) => Duplex> = {
  raw: (socket) => socket,
  cap: (socket) => new RequestMemoryCap(socket, 16 * MAX_MESSAGE, MAX_MESSAGE),
  'authority+cap': (socket) =>
    new RequestMemoryCap(acceptEtcdAuthority(socket), 16 * MAX_MESSAGE, MAX_MESSAGE),
};

async function listen(layer: (socket: Socket) => Duplex): Promise<number> {
  const server = instantPutGrpcServer(MAX_MESSAGE);
  const listener = createNetServer({ noDelay: true }, (socket) =>
    server.injectConnection(layer(socket)),
  );
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listener.unref();
  return (listener.address() as AddressInfo).port;
}

type Put = (request: unknown, metadata: Metadata, callback: (error: Error | null) => void) => void;

function client(port: number): { put: () => Promise<void>; close: () => void } {
  const Client = makeGenericClientConstructor(etcdServices().kv, 'KV');
  const instance = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  const put = (instance as unknown as { Put: Put }).Put.bind(instance);
  const request = { key: Buffer.from('k').toString('base64'), value: 'dg==' };
  return {
    put: () =>
      new Promise<void>((resolve, reject) =>
        put(request, new Metadata(), (error) => (error === null ? resolve() : reject(error))),
      ),
    close: () => instance.close(),
  };
}

async function measure(port: number): Promise<{ latencyUs: number; cpuUsPerCall: number }> {
  const { put, close } = client(port);
  for (let index = 0; index < 500; index++) await put(); // warm-up
  let started = process.hrtime.bigint();
  for (let index = 0; index < CALLS; index++) await put();
  const latencyUs = Number(process.hrtime.bigint() - started) / 1000 / CALLS;
  const cpu = process.cpuUsage();
  started = process.hrtime.bigint();
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued++ < CALLS * 4) await put();
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  const used = process.cpuUsage(cpu);
  close();
  return { latencyUs, cpuUsPerCall: (used.user + used.system) / (CALLS * 4) };
}

const ports = Object.fromEntries(
  await Promise.all(
    Object.entries(LAYERS).map(async ([name, layer]) => [name, await listen(layer)] as const),
  ),
) as Record<string, number>;
const names = Object.keys(LAYERS);
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? names : [...names].reverse();
  for (const name of order) {
    const result = await measure(ports[name] as number);
    console.log(
      JSON.stringify({
        round,
        layer: name,
        latencyUs: Math.round(result.latencyUs),
        cpuUsPerCall: Math.round(result.cpuUsPerCall),
        node: process.version,
      }),
    );
  }
}

/** CPU time per call of the client's and the server's bytes of one call through `layer`. */
async function layerAlone(layer: (socket: Socket) => Duplex): Promise<number> {
  const socket = new Duplex({ read: () => undefined, write: (_chunk, _encoding, done) => done() });
  const filtered = layer(socket as unknown as Socket);
  filtered.on('data', () => undefined);
  const block = encodeHeaderBlock([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', '/etcdserverpb.KV/Put'],
    [':authority', '127.0.0.1:2379'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ]);
  const message = Buffer.alloc(105);
  message.writeUInt32BE(100, 1);
  const callBytes = (streamId: number): Buffer =>
    Buffer.concat([http2Frame(0x1, 0x4, streamId, block), http2Frame(0x0, 0x1, streamId, message)]);
  const answer = http2Frame(0x0, 0, 1, Buffer.alloc(100));
  socket.push(
    Buffer.concat([
      Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
      http2Frame(0x4, 0, 0, Buffer.alloc(0)),
    ]),
  );
  const cpu = process.cpuUsage();
  for (let call = 0; call < LAYER_CALLS; call++) {
    socket.push(callBytes((2 * call + 1) % 0x7fffffff));
    filtered.write(answer);
    // Let the streams move the bytes on, as the event loop would between reads.
    if (call % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));
  const used = process.cpuUsage(cpu);
  filtered.destroy();
  return ((used.user + used.system) * 1000) / LAYER_CALLS;
}

const alone: Record<string, (socket: Socket) => Duplex> = {
  ...LAYERS,
  authority: (socket) => acceptEtcdAuthority(socket),
};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, layer] of Object.entries(alone)) {
    const cpuNsPerCall = await layerAlone(layer);
    console.log(
      JSON.stringify({ round, layerAlone: name, cpuNsPerCall: Math.round(cpuNsPerCall) }),
    );
  }
}
process.exit(0);
