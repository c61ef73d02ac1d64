/**
 * etcd 3.4's gRPC services, loaded from its vendored `.proto` files (see `proto/README.md`).
 *
 * Messages are decoded into the very shapes etcd's JSON gateway reads and writes (proto field
 * names, 64-bit integers as decimal strings, bytes as base64, enums by name, zero values left
 * out), so the gateway's decoders and encoders (`http/etcd-json.ts`) serve gRPC too: one mapping
 * between etcd's messages and the store model, not two.
 */

import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { Options } from '@grpc/proto-loader';

/**
 * Where the `.proto` files sit beside this module: `src/grpc/proto/` in the sources, `proto/`
 * beside the bundle in `dist/` (the build copies them there).
 */
const PROTO_ROOT = fileURLToPath(new URL('./proto/', import.meta.url));

/** Decoding options that give the gateway's JSON shapes (see the file comment). */
const gatewayShapes = (protoRoot: string): Options => ({
  keepCase: true,
  longs: String,
  enums: String,
  bytes: String,
  defaults: false,
  // A virtual field naming the set member of each oneof would be an unknown field to the gateway's
  // decoders; they tell the members apart themselves.
  oneofs: false,
  includeDirs: [protoRoot],
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

let loaded: EtcdServices | undefined;

/**
 * Loads (once) the service definitions of etcd's `rpc.proto`, `v3lock.proto` and `v3election.proto`.
 *
 * @param protoRoot the folder of the `.proto` files, for code bundled away from them (the
 *   benchmarks); default: `proto/` beside this module.
 * @throws Error if the `.proto` files are missing (a broken build).
 */
export function etcdServices(protoRoot?: string): EtcdServices {
  if (protoRoot === undefined && loaded !== undefined) return loaded;
  const root = protoRoot ?? PROTO_ROOT;
  const definition = loadSync(
    [
      'etcd/etcdserver/etcdserverpb/rpc.proto',
      'etcd/etcdserver/api/v3lock/v3lockpb/v3lock.proto',
      'etcd/etcdserver/api/v3election/v3electionpb/v3election.proto',
    ],
    gatewayShapes(root),
  );
  const service = (name: string, pkg = 'etcdserverpb'): ServiceDefinition => {
    const found = definition[`${pkg}.${name}`];
    if (found === undefined || 'format' in found) {
      throw new Error(`${pkg}.${name} is not a service in ${root}`);
    }
    return found;
  };
  const services = {
    kv: service('KV'),
    watch: service('Watch'),
    lease: service('Lease'),
    cluster: service('Cluster'),
    maintenance: service('Maintenance'),
    auth: service('Auth'),
    lock: service('Lock', 'v3lockpb'),
    election: service('Election', 'v3electionpb'),
  };
  if (protoRoot === undefined) loaded = services;
  return services;
}
