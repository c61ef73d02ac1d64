import { describe, expect, it } from 'vitest';
import * as quorum from './index.js';

describe('the public API', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(quorum).sort()).toEqual([
      'QuorumConfigurationError',
      'QuorumFailedError',
      'QuorumTracker',
      'compareVersions',
      'majority',
      'newer',
      'nextVersion',
      'nodeTimers',
      'pickNewest',
      'quorumCall',
      'quorumRead',
      'quorumWrite',
      'toleratedFailures',
      'validateQuorumSizes',
    ]);
  });
});
