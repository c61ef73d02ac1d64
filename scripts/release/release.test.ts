import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkChangesetStatus, checkTarballTypes } from './release-checks.mjs';
import { checkTarballContents, listPublishedPackages } from './published-packages.mjs';
import { mapLimited } from './run-command.mjs';
import { packAll, smokeTestDeclarations, smokeTestPackage } from './smoke.mjs';

const packages = listPublishedPackages();
const unbuilt = packages.filter((entry) => !existsSync(join(entry.directory, 'dist')));
// Packing needs dist/. In CI a missing build is a failure; locally it is a skip that says why.
const skipped = unbuilt.length > 0 && process.env.CI !== 'true';
if (skipped) {
  console.warn(
    `release: skipping the release checks: ${unbuilt.map((entry) => entry.name).join(', ')} not built (run \`pnpm build\`)`,
  );
}

describe.skipIf(skipped)('release', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'x-release-test-'));
  let tarballs: Map<string, string>;

  beforeAll(() => {
    tarballs = packAll(scratch);
  }, 120_000);

  afterAll(() => rm(scratch, { recursive: true, force: true }), 120_000);

  it('changeset status is sane: pending changesets name workspace packages with valid bumps', async () => {
    expect(await checkChangesetStatus(scratch)).toEqual([]);
  }, 60_000);

  it.each(packages.map((entry) => entry.name))(
    '%s packs only dist, src, README, CHANGELOG, LICENSE and package.json',
    (name) => {
      expect(checkTarballContents(tarballs.get(name)!).problems).toEqual([]);
    },
  );

  it("attw finds every packed tarball's exports working (ESM-only)", async () => {
    const problems = await mapLimited([...tarballs.values()], 2, checkTarballTypes);
    expect(problems.flat()).toEqual([]);
  }, 600_000);

  it('each package installs alone outside the workspace and imports from ESM and TypeScript', async () => {
    const problems = await mapLimited(packages, 2, async (entry) =>
      (await smokeTestPackage(entry, tarballs, scratch)).map(
        (problem) => `${entry.name}: ${problem}`,
      ),
    );
    expect(problems.flat()).toEqual([]);
  }, 600_000);

  it('the declarations of all packages type-check with skipLibCheck off', async () => {
    expect(await smokeTestDeclarations(tarballs, scratch)).toEqual([]);
  }, 600_000);
});
