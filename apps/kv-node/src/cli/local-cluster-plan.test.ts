import { describe, expect, it } from 'vitest';
import { memberIdOf } from '../config/member-id.js';
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

  it('has each member listen for peers behind its advertised peer URL, where the proxy listens', () => {
    expect(plan.map((member) => member.listenPeerUrl)).toEqual([
      'http://127.0.0.1:2381',
      'http://127.0.0.1:2391',
      'http://127.0.0.1:2401',
    ]);
  });

  it('keeps the member ids of a cluster without the proxy (existing data directories open)', () => {
    for (const member of plan) {
      const result = resolveConfig({ argv: member.args, env: {}, readFile: () => '' });
      if (result.kind !== 'config') throw new Error(result.kind);
      expect(result.config.memberId).toBe(memberIdOf([member.peerUrl], 'kv-local'));
      expect(result.config.listenPeerUrl.href).toBe(`${member.listenPeerUrl}/`);
      expect(result.config.advertisePeerUrls).toEqual([member.peerUrl]);
    }
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
    expect(banner).not.toContain('learner');
  });

  it('marks a learner in the banner', () => {
    const banner = clusterBanner(
      plan,
      'node-1',
      './.kv-data',
      'http://127.0.0.1:2378/ui/',
      new Set(['node-3']),
    );
    expect(banner).toContain('node-3   http://127.0.0.1:2399   (learner: no vote until promoted)');
    expect(banner).toContain('node-1   http://127.0.0.1:2379   (leader)\n');
  });
});
