import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { ensurePeerSecretFile } from './cluster-secret.js';
import { localClusterSecretFile, planLocalCluster } from './local-cluster-plan.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function freshRoot(): string {
  const root = mkdtempSync(`${tmpdir()}/kv-secret-`);
  roots.push(root);
  return root;
}

describe('local cluster secret', () => {
  it('is random per cluster, mode 0600, and kept across restarts', () => {
    const first = localClusterSecretFile(`${freshRoot()}/data`);
    const second = localClusterSecretFile(`${freshRoot()}/data`);
    ensurePeerSecretFile(first);
    ensurePeerSecretFile(second);
    const secret = readFileSync(first, 'utf8').trim();
    expect(Buffer.from(secret, 'base64')).toHaveLength(32);
    expect(readFileSync(second, 'utf8').trim()).not.toBe(secret);
    expect(statSync(first).mode & 0o777).toBe(0o600);
    ensurePeerSecretFile(first);
    expect(readFileSync(first, 'utf8').trim()).toBe(secret);
    expect(secret).not.toMatch(/kv-local/);
  });

  it('tightens the mode of an existing file and is passed to every member', () => {
    const root = freshRoot();
    const path = localClusterSecretFile(root);
    writeFileSync(path, 'an-existing-secret-of-some-length\n', { mode: 0o644 });
    ensurePeerSecretFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    for (const member of planLocalCluster({ nodes: 3, basePort: 2379, dataDir: root })) {
      expect(member.args[member.args.indexOf('--peer-secret-file') + 1]).toBe(path);
    }
  });
});
