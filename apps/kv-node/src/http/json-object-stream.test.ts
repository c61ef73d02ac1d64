import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonObjectStream } from './json-object-stream.js';

describe('JsonObjectStream', () => {
  it('splits concatenated objects cut at any point, strings with braces included', () => {
    const objects = [
      { create_request: { key: 'YQ==', range_end: 'Yg==' } },
      { cancel_request: { watch_id: '1' } },
      { odd: 'a "quoted" } brace { and \\ backslash' },
    ].map((object) => JSON.stringify(object));
    const text = `${objects[0]}\n${objects[1]}  ${objects[2]}\n`;
    fc.assert(
      fc.property(fc.array(fc.nat({ max: text.length }), { maxLength: 6 }), (cuts) => {
        const stream = new JsonObjectStream(1000);
        const points = [0, ...[...cuts].sort((a, b) => a - b), text.length];
        const found: string[] = [];
        for (let index = 1; index < points.length; index++) {
          found.push(...stream.push(text.slice(points[index - 1], points[index])));
        }
        expect(found).toEqual(objects);
        expect(stream.midObject).toBe(false);
      }),
    );
  });

  it('refuses an object over the bound and text between objects', () => {
    expect(() => new JsonObjectStream(10).push('{"key":"0123456789"')).toThrow(RangeError);
    expect(() => new JsonObjectStream(100).push('{} x')).toThrow(RangeError);
  });
});
