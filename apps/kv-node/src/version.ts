import packageJson from '../package.json' with { type: 'json' };

/** The kv-node version (from package.json), reported by `--version`. */
export const VERSION: string = packageJson.version;

/**
 * The version kv-node reports where etcd reports its own (`GET /version`'s `etcdserver`,
 * `Maintenance.Status`'s `version`, `etcd_server_version`): the etcd release whose API it speaks,
 * with kv-node's own version as semver build metadata (`3.4.0+kv-node.0.1.0`). Tools that parse
 * etcd's version to gate features see 3.4.0 (build metadata does not count in semver order); a
 * human sees which server answered.
 */
export const ETCD_SERVER_VERSION = `3.4.0+kv-node.${VERSION}`;

/** `GET /version`'s `etcdcluster`: the cluster's API version, as etcd 3.4 reports it. */
export const ETCD_CLUSTER_VERSION = '3.4.0';
