/**
 * etcd 3.4's gRPC services, loaded from its vendored `.proto` files (see `proto/README.md`).
 *
 * Messages are decoded into the very shapes etcd's JSON gateway reads and writes (proto field
 * names, 64-bit integers as decimal strings, bytes as base64, enums by name, zero values left
 * out), so the gateway's decoders and encoders (`http/etcd-json.ts`) serve gRPC too: one mapping
 * between etcd's messages and the store model, not two.
 */

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { Options, PackageDefinition } from '@grpc/proto-loader';

/**
 * Where the `.proto` files are: `proto/` beside this module (in the sources, and beside the
 * bundle in `dist/`, where the build copies them), or, for the benchmarks bundled into
 * `dist-bench/` beside `src/`, the sources' own.
 */
function protoRoot(): string {
  const beside = fileURLToPath(new URL('./proto/', import.meta.url));
  const ofBenchmarks = fileURLToPath(new URL('../src/grpc/proto/', import.meta.url));
  return existsSync(beside) || !existsSync(ofBenchmarks) ? beside : ofBenchmarks;
}

const PROTO_FILES = [
  'etcd/etcdserver/etcdserverpb/rpc.proto',
  'etcd/etcdserver/api/v3lock/v3lockpb/v3lock.proto',
  'etcd/etcdserver/api/v3election/v3electionpb/v3election.proto',
];

/** Decoding options that give the gateway's JSON shapes (see the file comment). */
const gatewayShapes = (root: string): Options => ({
  keepCase: true,
  longs: String,
  enums: String,
  bytes: String,
  defaults: false,
  // A virtual field naming the set member of each oneof would be an unknown field to the gateway's
  // decoders; they tell the members apart themselves.
  oneofs: false,
  includeDirs: [root],
});

/** The services of `etcdserverpb`, `v3lockpb` and `v3electionpb` that kv-node serves. */
export interface EtcdServices {
  kv: ServiceDefinition;
  watch: ServiceDefinition;
  lease: ServiceDefinition;
  cluster: ServiceDefinition;
  maintenance: ServiceDefinition;
  auth: ServiceDefinition;
  /** `v3lockpb.Lock` (etcd's server-side lock). */
  lock: ServiceDefinition;
  /** `v3electionpb.Election` (etcd's server-side election). */
  election: ServiceDefinition;
}

let definition: PackageDefinition | undefined;

/**
 * etcd's `rpc.proto`, `v3lock.proto` and `v3election.proto` (and what they import), loaded once:
 * the services below and the message tables of `etcd-proto-messages.ts` both read it.
 *
 * @throws Error if the `.proto` files are missing (a broken build).
 */
export function etcdProtoDefinition(): PackageDefinition {
  definition ??= loadSync(PROTO_FILES, gatewayShapes(protoRoot()));
  return definition;
}

let loaded: EtcdServices | undefined;

/**
 * The service definitions of etcd's `rpc.proto`, `v3lock.proto` and `v3election.proto`.
 *
 * @throws Error if the `.proto` files are missing (a broken build).
 */
export function etcdServices(): EtcdServices {
  if (loaded !== undefined) return loaded;
  const loadedDefinition = etcdProtoDefinition();
  const service = (name: string, pkg = 'etcdserverpb'): ServiceDefinition => {
    const found = loadedDefinition[`${pkg}.${name}`];
    if (found === undefined || 'format' in found) {
      throw new Error(`${pkg}.${name} is not a service in ${protoRoot()}`);
    }
    return found;
  };
  loaded = {
    kv: service('KV'),
    watch: service('Watch'),
    lease: service('Lease'),
    cluster: service('Cluster'),
    maintenance: service('Maintenance'),
    auth: service('Auth'),
    lock: service('Lock', 'v3lockpb'),
    election: service('Election', 'v3electionpb'),
  };
  return loaded;
}
