// @x/chaos: Real-process fault testing of a kv-node cluster with linearizability checking.
export {};
