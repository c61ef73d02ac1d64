import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { StartupError } from '../node/startup-error.js';
import { assertDataDirectoryMode } from './data-directory-mode.js';

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

async function dataDir(...entries: string[]): Promise<string> {
  const root = await mkdtemp(`${tmpdir()}/kv-mode-`);
  roots.push(root);
  for (const entry of entries) await mkdir(`${root}/${entry}`);
  return root;
}

describe('a data directory of one replication mode', () => {
  it('is refused by the other mode, naming the flag and the way out', async () => {
    const leader = await dataDir('log-00000000000000000001');
    expect(() => assertDataDirectoryMode(leader, 'quorum')).toThrow(StartupError);
    expect(() => assertDataDirectoryMode(leader, 'quorum')).toThrow(/holds leader-mode data/);
    const quorum = await dataDir('quorum-log');
    expect(() => assertDataDirectoryMode(quorum, 'leader')).toThrow(/holds quorum-mode data/);
  });

  it('is accepted by its own mode, and a new or missing one by both', async () => {
    const quorum = await dataDir('quorum-log');
    const leader = await dataDir('generation');
    expect(() => assertDataDirectoryMode(quorum, 'quorum')).not.toThrow();
    expect(() => assertDataDirectoryMode(leader, 'leader')).not.toThrow();
    const empty = await dataDir();
    for (const mode of ['leader', 'quorum'] as const) {
      expect(() => assertDataDirectoryMode(empty, mode)).not.toThrow();
      expect(() => assertDataDirectoryMode(`${empty}/missing`, mode)).not.toThrow();
    }
  });
});
