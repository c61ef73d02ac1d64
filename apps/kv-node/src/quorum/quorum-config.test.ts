import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/config-error.js';
import { buildConfig } from '../config/node-config.js';

const cluster = 'a=http://127.0.0.1:2380,b=http://127.0.0.1:2390,c=http://127.0.0.1:2400';

function settings(extra: Record<string, string>): Map<string, string> {
  return new Map(
    Object.entries({
      name: 'b',
      'listen-peer-urls': 'http://127.0.0.1:2390',
      'initial-cluster': cluster,
      'peer-secret-file': '/etc/kv/peer-secret',
      ...extra,
    }),
  );
}

function flagAtFault(extra: Record<string, string>): string {
  try {
    buildConfig(settings(extra));
  } catch (error) {
    if (error instanceof ConfigError) return error.flag;
    throw error;
  }
  throw new Error('no ConfigError');
}

describe('quorum-mode flags', () => {
  it('default to leader mode, majorities and a 500 ms clock offset', () => {
    const config = buildConfig(settings({}));
    expect(config.replication).toBe('leader');
    expect(config.readQuorum).toBe(2);
    expect(config.writeQuorum).toBe(2);
    expect(config.maxClockOffsetMs).toBe(500);
  });

  it('read --replication, --read-quorum, --write-quorum and --max-clock-offset', () => {
    const config = buildConfig(
      settings({
        replication: 'quorum',
        'read-quorum': '1',
        'write-quorum': '3',
        'max-clock-offset': '250',
      }),
    );
    expect(config).toMatchObject({
      replication: 'quorum',
      readQuorum: 1,
      writeQuorum: 3,
      maxClockOffsetMs: 250,
    });
  });

  it('refuse quorums larger than the cluster and unknown modes, naming the flag', () => {
    expect(flagAtFault({ 'read-quorum': '4' })).toBe('read-quorum');
    expect(flagAtFault({ 'write-quorum': '9' })).toBe('write-quorum');
    expect(flagAtFault({ 'write-quorum': '-1' })).toBe('write-quorum');
    expect(flagAtFault({ replication: 'gossip' })).toBe('replication');
  });
});
