import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { count, keyValue } from '../../test/support/kv-arbitraries.js';
import type { RangeResult } from '../store/kv-types.js';
import { rangeViewOf } from '../store/kv-types.js';
import type { HeaderSource, JsonBody } from './etcd-json.js';
import { rangeResponseJson, rangeResponseParts } from './etcd-json.js';
import type { SlicedArrayBody } from './json-body-slices.js';
import { jsonBodySlices } from './json-body-slices.js';

const source: HeaderSource = {
  clusterId: '14841639068965178418',
  memberId: '10276657743932975437',
  generation: 3,
};

const rangeResult: fc.Arbitrary<RangeResult> = fc.record({
  kvs: fc.array(keyValue, { minLength: 1, maxLength: 60 }),
  more: fc.boolean(),
  count,
  revision: count.filter((revision) => revision > 0),
});

const sliceBytes = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 65, max: 4096 }));

function partsOf(result: RangeResult): SlicedArrayBody {
  const parts = rangeResponseParts(source, rangeViewOf(result));
  if (parts === undefined) throw new Error('a result with kvs has parts');
  return parts;
}

describe('jsonBodySlices of a range response', () => {
  it('joins to exactly what the unsliced encoder writes, whatever the slice size', () => {
    fc.assert(
      fc.property(rangeResult, sliceBytes, (result, bytes) => {
        const slices = [
          ...jsonBodySlices(partsOf(result), { sliceBytes: bytes, maxBodyBytes: Infinity }),
        ];
        expect(slices.join('')).toBe(JSON.stringify(rangeResponseJson(source, result)));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps each slice near the slice size: at most one item past it', () => {
    fc.assert(
      fc.property(rangeResult, sliceBytes, (result, bytes) => {
        const parts = partsOf(result);
        const longestItem = Math.max(
          ...result.kvs.map((_kv, index) => parts.encodeItem(index).length + 1),
        );
        const slices = [...jsonBodySlices(parts, { sliceBytes: bytes, maxBodyBytes: Infinity })];
        for (const slice of slices.slice(1, -1)) {
          expect(slice.length).toBeLessThan(bytes + longestItem);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('under a cap keeps a prefix of the kvs, says more when it cut, and fits the cap', () => {
    fc.assert(
      fc.property(
        rangeResult,
        sliceBytes,
        fc.integer({ min: 0, max: 8000 }),
        (result, bytes, maxBodyBytes) => {
          const text = [
            ...jsonBodySlices(partsOf(result), { sliceBytes: bytes, maxBodyBytes }),
          ].join('');
          const body = JSON.parse(text) as JsonBody & { kvs: unknown[] };
          const kept = body.kvs.length;
          expect(kept).toBeGreaterThanOrEqual(1);
          const cut = kept < result.kvs.length;
          expect(body).toEqual(
            rangeResponseJson(source, {
              ...result,
              kvs: result.kvs.slice(0, kept),
              more: result.more || cut,
            }),
          );
          // Only a first item that alone passes the cap may take the body past it.
          if (kept > 1) expect(Buffer.byteLength(text)).toBeLessThanOrEqual(maxBodyBytes);
          if (cut) {
            // The next item would not have fitted.
            const withNext = JSON.stringify(
              rangeResponseJson(source, {
                ...result,
                kvs: result.kvs.slice(0, kept + 1),
                more: true,
              }),
            );
            expect(Buffer.byteLength(withNext)).toBeGreaterThan(maxBodyBytes);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('encodes an item only when its slice is asked for', () => {
    const encoded: number[] = [];
    const body: SlicedArrayBody = {
      open: '{"items":[',
      itemCount: 100,
      encodeItem: (item) => {
        encoded.push(item);
        return JSON.stringify({ item, padding: 'x'.repeat(90) });
      },
      close: () => ']}',
    };
    const slices = jsonBodySlices(body, { sliceBytes: 1000, maxBodyBytes: Infinity });
    slices.next();
    expect(encoded.length).toBeLessThan(15);
    const rest = [...slices];
    expect(encoded).toHaveLength(100);
    expect(rest.length).toBeGreaterThan(5);
  });
});
