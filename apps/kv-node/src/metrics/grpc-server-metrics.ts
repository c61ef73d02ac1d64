/**
 * gRPC server series as go-grpc-prometheus exports them in etcd (same names, types and labels:
 * `grpc_type`, `grpc_service`, `grpc_method`, `grpc_code`), recorded by the gRPC server
 * (`grpc/server/`) for every call: unary and streaming, success, failure or cancellation.
 */

import { status as GrpcStatus } from '@grpc/grpc-js';
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/** The label names of a call (go-grpc-prometheus's). */
type CallLabel = 'grpc_type' | 'grpc_service' | 'grpc_method';

/** `prometheus.DefBuckets`, which go-grpc-prometheus's handling histogram uses. */
const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** grpc-go's names of the status codes (`codes.Code.String()`), the `grpc_code` values. */
const CODE_NAMES: Record<number, string> = {
  [GrpcStatus.OK]: 'OK',
  [GrpcStatus.CANCELLED]: 'Canceled',
  [GrpcStatus.UNKNOWN]: 'Unknown',
  [GrpcStatus.INVALID_ARGUMENT]: 'InvalidArgument',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [GrpcStatus.NOT_FOUND]: 'NotFound',
  [GrpcStatus.ALREADY_EXISTS]: 'AlreadyExists',
  [GrpcStatus.PERMISSION_DENIED]: 'PermissionDenied',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [GrpcStatus.FAILED_PRECONDITION]: 'FailedPrecondition',
  [GrpcStatus.ABORTED]: 'Aborted',
  [GrpcStatus.OUT_OF_RANGE]: 'OutOfRange',
  [GrpcStatus.UNIMPLEMENTED]: 'Unimplemented',
  [GrpcStatus.INTERNAL]: 'Internal',
  [GrpcStatus.UNAVAILABLE]: 'Unavailable',
  [GrpcStatus.DATA_LOSS]: 'DataLoss',
  [GrpcStatus.UNAUTHENTICATED]: 'Unauthenticated',
};

/** The `grpc_code` label of a status code. */
export function grpcCodeName(code: number): string {
  return CODE_NAMES[code] ?? `Code(${code})`;
}

/** A method as the interceptor sees it. */
export interface GrpcMethodShape {
  /** `/package.Service/Method`. */
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

/** What the gRPC server tells the series about one call. */
export interface CallRecorder {
  /** A request message was received (and decoded). */
  received(): void;
  /** A response message was sent. */
  sent(): void;
  /** The call ended with status `code` (the first call counts; later ones are ignored). */
  finished(code: number): void;
}

/** go-grpc-prometheus's labels of a method. */
export function callLabels(method: GrpcMethodShape): Record<CallLabel, string> {
  const [, service = '', name = ''] = /^\/([^/]+)\/([^/]+)$/.exec(method.path) ?? [];
  const type = method.requestStream
    ? method.responseStream
      ? 'bidi_stream'
      : 'client_stream'
    : method.responseStream
      ? 'server_stream'
      : 'unary';
  return { grpc_type: type, grpc_service: service, grpc_method: name };
}

/** The gRPC server series and the interceptor that records them. */
export class GrpcServerMetrics {
  /** `grpc_server_started_total`. */
  readonly started: Counter<CallLabel>;
  /** `grpc_server_handled_total`, by status code. */
  readonly handled: Counter<CallLabel | 'grpc_code'>;
  /** `grpc_server_handling_seconds`: from the call's start to its status (or cancellation). */
  readonly handlingSeconds: Histogram<CallLabel>;
  /** `grpc_server_msg_received_total`: request messages. */
  readonly messagesReceived: Counter<CallLabel>;
  /** `grpc_server_msg_sent_total`: response messages. */
  readonly messagesSent: Counter<CallLabel>;
  readonly #now: () => number;

  /** @param now monotonic milliseconds. */
  constructor(registry: Registry, now: () => number = () => performance.now()) {
    const registers = [registry];
    const labelNames: CallLabel[] = ['grpc_type', 'grpc_service', 'grpc_method'];
    this.#now = now;
    this.started = new Counter({
      name: 'grpc_server_started_total',
      help: 'Total number of RPCs started on the server.',
      labelNames,
      registers,
    });
    this.handled = new Counter({
      name: 'grpc_server_handled_total',
      help: 'Total number of RPCs completed on the server, regardless of success or failure.',
      labelNames: [...labelNames, 'grpc_code'],
      registers,
    });
    this.handlingSeconds = new Histogram({
      name: 'grpc_server_handling_seconds',
      help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
      labelNames,
      buckets: DEFAULT_BUCKETS,
      registers,
    });
    this.messagesReceived = new Counter({
      name: 'grpc_server_msg_received_total',
      help: 'Total number of RPC stream messages received on the server.',
      labelNames,
      registers,
    });
    this.messagesSent = new Counter({
      name: 'grpc_server_msg_sent_total',
      help: 'Total number of gRPC stream messages sent by the server.',
      labelNames,
      registers,
    });
  }

  /**
   * Starts every method's series at zero, as go-grpc-prometheus's `InitializeMetrics` does, so
   * that rates and alerts see a series before its first call.
   */
  initialize(methods: Iterable<GrpcMethodShape>): void {
    for (const method of methods) {
      const labels = callLabels(method);
      this.started.inc(labels, 0);
      this.messagesReceived.inc(labels, 0);
      this.messagesSent.inc(labels, 0);
      for (const code of Object.values(CODE_NAMES)) {
        this.handled.inc({ ...labels, grpc_code: code }, 0);
      }
    }
  }

  /**
   * The recorder of each call of `method` (counted as started when made), with the method's
   * label sets built once rather than per call.
   */
  recorder(method: GrpcMethodShape): () => CallRecorder {
    const labels = callLabels(method);
    const byCode = new Map<number, Record<CallLabel | 'grpc_code', string>>();
    const handledLabels = (code: number): Record<CallLabel | 'grpc_code', string> => {
      let found = byCode.get(code);
      if (found === undefined) {
        found = { ...labels, grpc_code: grpcCodeName(code) };
        byCode.set(code, found);
      }
      return found;
    };
    return () => {
      const startedAt = this.#now();
      let finished = false;
      this.started.inc(labels);
      return {
        received: () => this.messagesReceived.inc(labels),
        sent: () => this.messagesSent.inc(labels),
        finished: (code) => {
          if (finished) return;
          finished = true;
          this.handled.inc(handledLabels(code));
          this.handlingSeconds.observe(labels, (this.#now() - startedAt) / 1000);
        },
      };
    };
  }
}
