import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/node-config.js';
import { clusterBanner, planLocalCluster } from './local-cluster-plan.js';

describe('local cluster plan', () => {
  const plan = planLocalCluster({ nodes: 3, basePort: 2379, dataDir: './.kv-data/' });

  it('gives each member its own ports and data directory on 127.0.0.1', () => {
    expect(
      plan.map((member) => [member.name, member.clientUrl, member.peerUrl, member.dataDir]),
    ).toEqual([
      ['node-1', 'http://127.0.0.1:2379', 'http://127.0.0.1:2380', './.kv-data/node-1'],
      ['node-2', 'http://127.0.0.1:2389', 'http://127.0.0.1:2390', './.kv-data/node-2'],
      ['node-3', 'http://127.0.0.1:2399', 'http://127.0.0.1:2400', './.kv-data/node-3'],
    ]);
  });

  it('produces flags that every member accepts as a valid configuration', () => {
    const ids = plan.map((member) => {
      const result = resolveConfig({ argv: member.args, env: {}, readFile: () => '' });
      if (result.kind !== 'config') throw new Error(result.kind);
      expect(result.config.members).toHaveLength(3);
      return result.config.memberId;
    });
    expect(new Set(ids).size).toBe(3);
  });

  it('prints URLs, the leader and example commands', () => {
    const banner = clusterBanner(plan, 'node-2', './.kv-data', 'http://127.0.0.1:2378/ui/');
    expect(banner).toContain('node-2   http://127.0.0.1:2389   (leader)');
    expect(banner).toContain("curl -X PUT --data-binary 'world' http://127.0.0.1:2379/v1/kv/hello");
    expect(banner).toContain('Dashboard: http://127.0.0.1:2378/ui/');
  });
});
