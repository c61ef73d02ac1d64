import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { putResponseJson, responseHeader } from './etcd-json.js';
import type { HeaderSource } from './etcd-json.js';
import { putResponseText, responseHeaderText } from './response-header-text.js';

const ids = fc.oneof(
  fc.constant('0'),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((id) => id.toString()),
);
const sources: fc.Arbitrary<HeaderSource> = fc.record({
  clusterId: ids,
  memberId: ids,
  generation: fc.oneof(fc.constant(0), fc.nat()),
});
const revisions = fc.oneof(fc.constant(0), fc.constant(1), fc.nat(), fc.maxSafeInteger());

describe('responseHeaderText', () => {
  it('is the generic encoder text for any identity and revision, identities changing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(sources, revisions), { minLength: 1, maxLength: 8 }),
        (runs) => {
          for (const [source, revision] of runs) {
            expect(responseHeaderText(source, revision)).toBe(
              JSON.stringify(responseHeader(source, revision)),
            );
          }
        },
      ),
    );
  });

  it('writes etcd gateway shape: proto names, decimal strings, zero fields left out', () => {
    const source = {
      clusterId: '14841639068965178418',
      memberId: '10276657743932975437',
      generation: 2,
    };
    expect(JSON.parse(responseHeaderText(source, 17))).toEqual({
      cluster_id: '14841639068965178418',
      member_id: '10276657743932975437',
      revision: '17',
      raft_term: '2',
    });
    expect(JSON.parse(responseHeaderText({ ...source, generation: 0 }, 0))).toEqual({
      cluster_id: '14841639068965178418',
      member_id: '10276657743932975437',
    });
  });
});

describe('putResponseText', () => {
  const source = { clusterId: '1', memberId: '2', generation: 3 };

  it('is JSON.stringify of putResponseJson without and with a prev_kv', () => {
    for (const result of [
      { revision: 9 },
      { revision: 0 },
      {
        revision: 9,
        prevKv: { key: 'k', value: 'v', createRevision: 2, modRevision: 8, version: 3, lease: '0' },
      },
    ]) {
      expect(putResponseText(source, result)).toBe(JSON.stringify(putResponseJson(source, result)));
    }
  });

  it('refuses, as the generic encoder does, a previous key-value that was not kept', () => {
    expect(() => putResponseText(source, { revision: 9, prevNotRead: true })).toThrow(
      /prev_kv not kept/,
    );
  });
});
