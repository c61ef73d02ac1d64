// @x/kv-node: The replicated key-value node: an etcd-compatible HTTP API, a CLI and a local cluster.
export {};
