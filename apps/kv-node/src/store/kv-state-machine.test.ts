import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import type { KvCommand } from '../codec/command-codec.js';
import { encodeCommand } from '../codec/command-codec.js';
import type { TxnRequest } from './kv-types.js';
import { rangeRequest } from './kv-types.js';
import { KvStateMachine } from './kv-state-machine.js';

const putCommand = (key: string, value: string, requestId?: string): Uint8Array =>
  encodeCommand({
    type: 'put',
    request: { key, value, prevKv: true },
    ...(requestId === undefined ? {} : { requestId }),
  });

describe('KvStateMachine', () => {
  it('applies commands and tracks the applied index', () => {
    const machine = new KvStateMachine();
    expect(machine.apply(1, putCommand('a', '1'))).toEqual({
      status: 'applied',
      result: { type: 'put', result: { revision: 2 } },
    });
    expect(machine.apply(2, new Uint8Array(0))).toBeUndefined();
    expect(machine.appliedIndex).toBe(2);
    expect(machine.store.range(rangeRequest('a')).kvs[0]?.value).toBe('1');
  });

  it('answers a retried request id with the first result without applying it again', () => {
    const machine = new KvStateMachine();
    const first = machine.apply(1, putCommand('a', '1', 'req-1'));
    machine.apply(2, putCommand('a', '2'));
    const retry = machine.apply(3, putCommand('a', '1', 'req-1'));
    expect(first?.status).toBe('applied');
    expect(retry).toEqual({ ...first, status: 'replayed' });
    expect(machine.store.range(rangeRequest('a')).kvs[0]?.value).toBe('2');
    expect(machine.store.revision).toBe(3);
  });

  it('rejects a request id reused for a different request', () => {
    const machine = new KvStateMachine();
    machine.apply(1, putCommand('a', '1', 'req-1'));
    expect(machine.apply(2, putCommand('b', '1', 'req-1'))).toEqual({
      status: 'rejected',
      reason: 'idempotency_key_reused',
      requestId: 'req-1',
    });
    expect(machine.store.size).toBe(1);
  });

  it('forgets request ids beyond its bounds, oldest first', () => {
    const machine = new KvStateMachine({ maxEntries: 2, retainRevisions: 1000 });
    machine.apply(1, putCommand('a', '1', 'r1'));
    machine.apply(2, putCommand('a', '2', 'r2'));
    machine.apply(3, putCommand('a', '3', 'r3'));
    expect(machine.rememberedRequestCount).toBe(2);
    expect(machine.apply(4, putCommand('a', '1', 'r1'))?.status).toBe('applied');

    const byRevision = new KvStateMachine({ maxEntries: 100, retainRevisions: 2 });
    byRevision.apply(1, putCommand('a', '1', 'r1'));
    byRevision.apply(2, putCommand('a', '2'));
    byRevision.apply(3, putCommand('a', '3'));
    expect(byRevision.apply(4, putCommand('a', '1', 'r1'))?.status).toBe('replayed');
    byRevision.apply(5, putCommand('a', '4'));
    expect(byRevision.apply(6, putCommand('a', '1', 'r1'))?.status).toBe('applied');
  });

  it('throws on a command that does not decode', () => {
    expect(() => new KvStateMachine().apply(1, Uint8Array.of(1, 2, 3))).toThrow(
      MalformedEncodingError,
    );
  });

  it('rejects a snapshot that is not one, or is truncated, leaving the state as it was', () => {
    expect(() => new KvStateMachine().restore(Uint8Array.of(1, 2, 3), 1)).toThrow(
      MalformedEncodingError,
    );
    const source = new KvStateMachine();
    source.apply(1, putCommand('a', '1', 'r'));
    source.apply(2, putCommand('b', '2'));
    const snapshot = source.snapshot();
    const target = new KvStateMachine();
    target.apply(1, putCommand('z', '9'));
    for (let length = 0; length < snapshot.byteLength; length++) {
      expect(() => target.restore(snapshot.subarray(0, length), 2)).toThrow(MalformedEncodingError);
    }
    expect(target.store.range(rangeRequest('z')).count).toBe(1);
    expect(target.appliedIndex).toBe(1);
  });

  it('restores from a snapshot to a replica that then behaves identically', () => {
    const key = fc.constantFrom('a', 'b', 'c\xff', '\0');
    const command: fc.Arbitrary<KvCommand> = fc.oneof(
      fc.record({
        type: fc.constant('put' as const),
        request: fc.record({ key, value: fc.constantFrom('1', '2', '\xfe'), prevKv: fc.boolean() }),
        requestId: fc.constantFrom('r1', 'r2', 'r3', 'r4'),
      }),
      fc.record({
        type: fc.constant('put' as const),
        request: fc.record({ key, value: fc.constantFrom('1', '2'), prevKv: fc.boolean() }),
      }),
      fc.record({
        type: fc.constant('deleteRange' as const),
        request: fc.record({ key, rangeEnd: fc.constantFrom('', '\0'), prevKv: fc.boolean() }),
        requestId: fc.constantFrom('r1', 'r5'),
      }),
      fc.record({
        type: fc.constant('txn' as const),
        request: fc.constant<TxnRequest>({
          compare: [],
          success: [{ type: 'range' as const, request: rangeRequest('\0', { rangeEnd: '\0' }) }],
          failure: [],
        }),
        requestId: fc.constantFrom('r6', 'r7'),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(command, { maxLength: 20 }),
        fc.array(command, { maxLength: 20 }),
        (before, after) => {
          const original = new KvStateMachine({ maxEntries: 3, retainRevisions: 5 });
          before.forEach((entry, index) => original.apply(index + 1, encodeCommand(entry)));
          const replica = new KvStateMachine({ maxEntries: 3, retainRevisions: 5 });
          replica.restore(original.snapshot(), before.length);
          expect(replica.appliedIndex).toBe(before.length);
          after.forEach((entry, offset) => {
            const index = before.length + offset + 1;
            expect(replica.apply(index, encodeCommand(entry))).toEqual(
              original.apply(index, encodeCommand(entry)),
            );
          });
          expect(replica.snapshot()).toEqual(original.snapshot());
        },
      ),
      { numRuns: 200 },
    );
  });

  it('streams the same snapshot bytes in chunks, as the state was when asked', () => {
    const machine = new KvStateMachine();
    for (let index = 1; index <= 500; index++) {
      machine.apply(index, putCommand(`key-${index % 300}`, 'v'.repeat(index % 50), `id-${index}`));
    }
    const whole = machine.snapshot();
    const chunks = machine.snapshotChunks(1000);
    // Writes after the call do not reach the chunks.
    machine.apply(501, putCommand('late', 'x'));
    const collected = [...chunks];
    expect(collected.length).toBeGreaterThan(5);
    for (const chunk of collected.slice(0, -1))
      expect(chunk.byteLength).toBeGreaterThanOrEqual(1000);
    expect(Buffer.concat(collected)).toEqual(Buffer.from(whole));
    const restored = new KvStateMachine();
    restored.restore(Buffer.concat(collected), 500);
    expect(restored.snapshot()).toEqual(whole);
    expect(restored.store.size).toBe(300);
  });

  it('restores from chunks cut at any byte, with the same state as from one buffer', async () => {
    const machine = new KvStateMachine();
    // Values from 0 to 300 bytes: records shorter and longer than the chunks.
    for (let index = 1; index <= 200; index++) {
      machine.apply(index, putCommand(`key-${index % 90}`, 'v'.repeat(index % 301), `id-${index}`));
    }
    const whole = machine.snapshot();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 2000 }), { maxLength: 40 }),
        async (cuts) => {
          const restored = new KvStateMachine();
          await restored.restoreChunks(chunksOf(whole, cuts), 200);
          // Byte comparison by Buffer: a deep equality of 18 KB per run is slow.
          expect(sameBytes(restored.snapshot(), whole)).toBe(true);
          expect(restored.appliedIndex).toBe(200);
        },
      ),
      { numRuns: 100 },
    );
    const byteByByte = new KvStateMachine();
    await byteByByte.restoreChunks(chunksOf(whole, [1]), 200);
    expect(sameBytes(byteByByte.snapshot(), whole)).toBe(true);
  });

  it('replaces nothing when the chunks end early or the iteration fails', async () => {
    const source = new KvStateMachine();
    source.apply(1, putCommand('a', '1', 'r'));
    source.apply(2, putCommand('b', '2'));
    const snapshot = source.snapshot();
    const target = new KvStateMachine();
    target.apply(1, putCommand('z', '9'));
    for (let length = 0; length < snapshot.byteLength; length++) {
      await expect(
        target.restoreChunks(chunksOf(snapshot.subarray(0, length), [3]), 2),
      ).rejects.toThrow(MalformedEncodingError);
    }
    async function* failsAtTheEnd(): AsyncGenerator<Uint8Array> {
      yield await Promise.resolve(snapshot);
      throw new Error('checksum mismatch');
    }
    await expect(target.restoreChunks(failsAtTheEnd(), 2)).rejects.toThrow('checksum mismatch');
    expect(target.store.range(rangeRequest('z')).count).toBe(1);
    expect(target.store.range(rangeRequest('a')).count).toBe(0);
    expect(target.appliedIndex).toBe(1);
  });
});

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** `bytes` as an async sequence of chunks whose sizes cycle through `sizes`. */
async function* chunksOf(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for (let turn = 0; offset < bytes.length; turn++) {
    const size = sizes.length === 0 ? bytes.length : (sizes[turn % sizes.length] as number);
    // Chunks arrive later, as from a file read.
    yield await Promise.resolve(bytes.subarray(offset, offset + size));
    offset += size;
  }
}
