import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HeaderSource } from '../http/etcd-json.js';
import type { EventsResponse } from './watch-encoding.js';
import { eventsResponseJson, eventsResponseLine } from './watch-encoding.js';
import type { WatchEvent } from './watch-hub.js';

const byteString = fc
  .string({ unit: 'binary', maxLength: 12 })
  .map((text) => Buffer.from(text).toString('latin1'));
const keyValue = fc
  .record({
    key: byteString,
    value: byteString,
    createRevision: fc.nat(),
    modRevision: fc.nat(),
    version: fc.nat(),
    lease: fc.option(fc.constantFrom('0', '7', '9223372036854775807'), { nil: undefined }),
  })
  .map(({ lease, ...rest }) => (lease === undefined ? rest : { ...rest, lease }));
const event: fc.Arbitrary<WatchEvent> = fc
  .record({
    type: fc.constantFrom<'put' | 'delete'>('put', 'delete'),
    kv: keyValue,
    prevKv: fc.option(keyValue, { nil: undefined }),
  })
  .map(({ prevKv, ...rest }) => (prevKv === undefined ? rest : { ...rest, prevKv }));
const header: fc.Arbitrary<HeaderSource> = fc.record({
  clusterId: fc.constantFrom('0', '14841639068965178418'),
  memberId: fc.constantFrom('0', '10276657743932975437'),
  generation: fc.nat(),
});
const response: fc.Arbitrary<EventsResponse> = fc.record({
  header,
  headerRevision: fc.nat(),
  watchId: fc.integer({ min: -1, max: 1 << 30 }),
  events: fc.array(event, { maxLength: 5 }),
  fragment: fc.boolean(),
});

describe('eventsResponseLine', () => {
  it('is the gateway line of the response object, text for text', () => {
    fc.assert(
      fc.property(response, (watchResponse) => {
        const expected = `${JSON.stringify({ result: eventsResponseJson(watchResponse) })}\n`;
        expect(eventsResponseLine(watchResponse)).toBe(expected);
        // Encoded once, the texts are reused: the same answer again.
        expect(eventsResponseLine(watchResponse)).toBe(expected);
      }),
    );
  });
});
