import { describe, expect, it } from 'vitest';
import * as clocks from './index.js';

describe('the public API', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(clocks).sort()).toEqual([
      'ClockDecodeError',
      'ClockOffsetError',
      'DEFAULT_MAX_VERSION_VECTOR_NODES',
      'ENCODED_HYBRID_TIMESTAMP_LENGTH',
      'HybridClock',
      'LamportClock',
      'MAX_HYBRID_LOGICAL',
      'MAX_HYBRID_WALL_MS',
      'MAX_NODE_ID_LENGTH',
      'VersionVector',
      'ZERO_HYBRID_TIMESTAMP',
      'compareHybrid',
      'decodeHybridTimestamp',
      'encodeHybridTimestamp',
      'hybridTimestamp',
      'nodeWallClock',
    ]);
  });
});
