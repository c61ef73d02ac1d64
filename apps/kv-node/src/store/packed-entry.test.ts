import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packEntry, unpackHeader, valueOf } from './packed-entry.js';

describe('packed entry', () => {
  it('round-trips metadata and any value', () => {
    const revision = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    const bytes = fc.string({
      unit: fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code)),
      maxLength: 5000,
    });
    fc.assert(
      fc.property(revision, revision, revision, bytes, (create, mod, version, value) => {
        const packed = packEntry(create, mod, version, value);
        const header = unpackHeader(packed);
        expect(header).toMatchObject({ createRevision: create, modRevision: mod, version });
        expect(valueOf(packed, header)).toBe(value);
        expect(valueOf(packed)).toBe(value);
      }),
    );
  });

  it('costs a few bytes over the value', () => {
    expect(packEntry(1_000_000, 1_000_001, 3, 'v'.repeat(100)).length).toBe(100 + 3 + 3 + 1);
  });
});
