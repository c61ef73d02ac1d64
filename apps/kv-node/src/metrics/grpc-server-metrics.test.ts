import { status } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { GrpcServerMetrics, callLabels, grpcCodeName } from './grpc-server-metrics.js';

describe("go-grpc-prometheus's labels", () => {
  it('names the call type, service and method from the method definition', () => {
    expect(
      callLabels({ path: '/etcdserverpb.KV/Range', requestStream: false, responseStream: false }),
    ).toEqual({ grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Range' });
    expect(
      callLabels({ path: '/etcdserverpb.Watch/Watch', requestStream: true, responseStream: true })
        .grpc_type,
    ).toBe('bidi_stream');
    expect(
      callLabels({
        path: '/etcdserverpb.Maintenance/Snapshot',
        requestStream: false,
        responseStream: true,
      }).grpc_type,
    ).toBe('server_stream');
    expect(
      callLabels({ path: '/x.Y/Z', requestStream: true, responseStream: false }).grpc_type,
    ).toBe('client_stream');
  });

  it("uses grpc-go's code names", () => {
    expect(grpcCodeName(status.OK)).toBe('OK');
    expect(grpcCodeName(status.CANCELLED)).toBe('Canceled');
    expect(grpcCodeName(status.OUT_OF_RANGE)).toBe('OutOfRange');
    expect(grpcCodeName(status.UNAVAILABLE)).toBe('Unavailable');
    expect(grpcCodeName(99)).toBe('Code(99)');
  });

  it('starts every method of every code at zero', async () => {
    const registry = new Registry();
    const metrics = new GrpcServerMetrics(registry);
    metrics.initialize([
      { path: '/etcdserverpb.KV/Put', requestStream: false, responseStream: false },
    ]);
    const handled = await metrics.handled.get();
    expect(handled.values).toHaveLength(17);
    expect(handled.values.every((value) => value.value === 0)).toBe(true);
    expect((await metrics.started.get()).values).toEqual([
      {
        labels: { grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Put' },
        value: 0,
      },
    ]);
  });
});
