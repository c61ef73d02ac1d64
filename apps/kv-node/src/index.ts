// @x/kv-node: The replicated key-value node: an etcd-compatible HTTP API, a CLI and a local cluster.
export { SortedKeyMap } from './store/sorted-key-map.js';
export { KvStore, INITIAL_REVISION } from './store/kv-store.js';
export type { StoredValue } from './store/kv-store.js';
export { KvStateMachine } from './store/kv-state-machine.js';
export type { ApplyOutcome } from './store/kv-state-machine.js';
export { IdempotencyTable, DEFAULT_IDEMPOTENCY_LIMITS } from './store/idempotency-table.js';
export type {
  CommandResult,
  IdempotencyLimits,
  RememberedResult,
} from './store/idempotency-table.js';
export { rangeRequest } from './store/kv-types.js';
export type {
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  DeleteRangeResult,
  KeyValue,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  RequestOp,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResult,
} from './store/kv-types.js';
export {
  base64FromByteString,
  byteStringFromBytes,
  byteStringFromUtf8,
  bytesFromByteString,
  prefixRangeEnd,
  utf8FromByteString,
} from './store/byte-string.js';
export type { ByteString } from './store/byte-string.js';
export { decodeCommand, encodeCommand } from './codec/command-codec.js';
export type { DecodedCommand, KvCommand } from './codec/command-codec.js';
export { MalformedEncodingError } from './codec/binary-reader.js';
export { createApiHandler, createHttpServer } from './http/http-api.js';
export type { HttpApiOptions, HttpServerOptions, ServerTls } from './http/http-api.js';
export { ApiError, GrpcCode } from './http/api-error.js';
export type { ApiErrorDetails, ErrorReason } from './http/api-error.js';
export { DEFAULT_API_LIMITS } from './http/api-limits.js';
export type { ApiLimits } from './http/api-limits.js';
export type { KvBackend, MemberStatus, NodeRole, ClusterStatus } from './http/kv-backend.js';
export type { Timers } from './http/api-context.js';
export { AuthState, ROOT } from './auth/auth-state.js';
export type { AuthUser } from './auth/auth-state.js';
export type { AuthApplyResult, AuthCommand } from './auth/auth-command.js';
export { AuthGate, DEFAULT_AUTH_GATE_OPTIONS } from './auth/auth-gate.js';
export type { AuthGateOptions } from './auth/auth-gate.js';
export { AUTH_ERRORS } from './auth/auth-errors.js';
export type { AuthErrorName } from './auth/auth-errors.js';
export type { KeyPermission, PermissionType } from './auth/key-permissions.js';
export { NodeMetrics } from './metrics/node-metrics.js';
export type { NodeMetricsOptions } from './metrics/node-metrics.js';
export { resolveConfig, buildConfig } from './config/node-config.js';
export type {
  ConfigInputs,
  ConfigResult,
  MemberConfig,
  NodeConfig,
  TlsFiles,
} from './config/node-config.js';
export { ConfigError } from './config/config-error.js';
export { FLAG_SPECS, UNSUPPORTED_ETCD_FLAGS } from './config/flag-spec.js';
export type { FlagKind, FlagSpec } from './config/flag-spec.js';
export { createLogger } from './logging/create-logger.js';
export type { LoggerOptions } from './logging/create-logger.js';
export { formatLogLine } from './logging/text-log-format.js';
export type { Logger } from './logging/logger.js';
export { LeaderForwarding } from './node/leader-forwarding.js';
export type { LeaderForwardingOptions } from './node/leader-forwarding.js';
export { ReplicatedBackend } from './node/replicated-backend.js';
export type { LocalReplica } from './node/local-replica.js';
export { splitTransport, KV_NODE_MESSAGE_TYPE_BASE } from './node/transport.js';
export type { Transport } from './node/transport.js';
export { startNode, runNode, StartupError } from './node/run-node.js';
export type { RunningNode } from './node/run-node.js';
export type {
  ReplicaRuntime,
  ReplicaStartOptions,
  ReplicaStarter,
} from './node/replica-runtime.js';
export { VERSION } from './version.js';
