import { describe, expect, it } from 'vitest';
import { parseFaultScript } from './fault-script.js';
import {
  SETTLE_MS,
  decodeConfig,
  defaultConfig,
  encodeConfig,
  namesARun,
  runEndMs,
  type PlaygroundConfig,
} from './playground-config.js';
import { scenarios } from './scenarios.js';

describe('playground URL codec', () => {
  it('reads back what it writes, for every scenario and a custom run', () => {
    const custom: PlaygroundConfig = {
      seed: 123_456,
      members: 5,
      script: parseFaultScript('@1 put key_1=v-2 to athens; @2.25 partition a,b | c; @3 heal'),
    };
    for (const config of [custom, defaultConfig, ...scenarios.map((s) => s.config)]) {
      const query = encodeConfig(config);
      expect(query.startsWith('?')).toBe(true);
      expect(decodeConfig(query)).toEqual({ config });
    }
  });

  it('keeps the link on one line and leaves out an empty script', () => {
    expect(encodeConfig(defaultConfig)).toBe('?seed=1&members=3');
    const query = encodeConfig({ ...defaultConfig, script: parseFaultScript('@1 heal; @2 heal') });
    expect(query).toBe('?seed=1&members=3&script=%401+heal%3B+%402+heal');
  });

  it('fills in defaults for missing parameters', () => {
    expect(decodeConfig('')).toEqual({ config: defaultConfig });
    expect(decodeConfig('?seed=9')).toEqual({ config: { ...defaultConfig, seed: 9 } });
  });

  it.each([
    ['?seed=abc', /seed must be a whole number/],
    ['?seed=-1', /seed must be a whole number/],
    ['?members=4', /members must be 3 or 5/],
    ['?script=%4010+explode', /unknown action/],
  ])('refuses %s with the default run and a reason', (query, reason) => {
    const decoded = decodeConfig(query);
    expect(decoded.config).toEqual(defaultConfig);
    expect(decoded.error).toMatch(reason);
  });

  it('tells a link that names a run from one that leaves the choice to a scenario', () => {
    expect(namesARun('')).toBe(false);
    expect(namesARun('?utm=1')).toBe(false);
    expect(namesARun('?seed=2')).toBe(true);
    expect(namesARun('?script=')).toBe(true);
  });

  it('ends a run at its scenario end, or a while after its last action', () => {
    const script = parseFaultScript('@100 heal; @900 heal');
    expect(runEndMs(script, 5_000)).toBe(5_000);
    expect(runEndMs(script, undefined)).toBe(900 + SETTLE_MS);
    expect(runEndMs([], undefined)).toBe(SETTLE_MS);
  });
});
