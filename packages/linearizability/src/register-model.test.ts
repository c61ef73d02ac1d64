import { describe, expect, it } from 'vitest';
import { toOperations } from './operation.js';
import { registerModel } from './register-model.js';

describe('registerModel', () => {
  const model = registerModel();
  const [cas, read] = toOperations([
    { process: 0, type: 'invoke', op: 'cas', value: [1, 2] },
    { process: 0, type: 'ok', op: 'cas', value: [1, 2] },
    { process: 0, type: 'invoke', op: 'read' },
    { process: 0, type: 'ok', op: 'read', value: '2' },
  ]);

  it('steps cas and read, telling 2 from "2"', () => {
    expect(model.step(1, cas!)).toBe(2);
    expect(model.step(3, cas!)).toBeUndefined();
    expect(model.step(2, read!)).toBeUndefined();
    expect(model.step('2', read!)).toBe('2');
    expect(model.hash(2)).not.toBe(model.hash('2'));
    expect(model.hash(null)).not.toBe(model.hash(0));
  });

  it('describes states and operations for people', () => {
    expect(model.describeState(null)).toBe('nil');
    expect(model.describeOperation(cas!)).toBe('cas 1→2 ok');
    expect(model.describeOperation(read!)).toBe('read → "2"');
  });

  it('refuses key-value operations', () => {
    const [get] = toOperations([
      { process: 0, type: 'invoke', op: 'get' },
      { process: 0, type: 'ok', op: 'get', value: '' },
    ]);
    expect(() => model.step(null, get!)).toThrow(TypeError);
  });
});
