import { describe, expect, it } from 'vitest';
import * as highWaterMark from './index.js';

describe('the public API', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(highWaterMark).sort()).toEqual([
      'FollowerHighWaterMark',
      'LeaderHighWaterMark',
      'RequestAbandonedError',
      'RequestWaitingList',
    ]);
  });
});
