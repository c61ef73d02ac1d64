#!/usr/bin/env node
// Release checks for CI (issue 11): `changeset status` is sane, every published package packs
// into a tarball holding only dist, src, README, CHANGELOG, LICENSE and package.json, and attw
// finds the tarball's `exports` working (ESM-only profile). Needs `pnpm build` first.
//   node scripts/release/release-checks.mjs
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkTarballContents,
  listPublishedPackages,
  listWorkspacePackageNames,
  packPackage,
  repositoryRoot,
} from './published-packages.mjs';
import { mapLimited, runCommand } from './run-command.mjs';

/**
 * Runs `changeset status` and checks that every pending changeset names a workspace package
 * with a valid bump type.
 *
 * @param {string} scratch a directory for the status file
 * @returns {Promise<string[]>} problems, empty when sane
 */
export async function checkChangesetStatus(scratch) {
  const statusFile = join(scratch, 'changeset-status.json');
  const { status, output } = await runCommand(
    'pnpm',
    ['exec', 'changeset', 'status', '--output', statusFile],
    { cwd: repositoryRoot },
  );
  if (status !== 0) return [`changeset status exited ${status}:\n${output}`];
  // A changeset may name a private app too (config privatePackages.version is false, so
  // changesets leaves it alone); a name outside the workspace is a typo or a removed package.
  const workspace = new Set(listWorkspacePackageNames());
  const report = JSON.parse(readFileSync(statusFile, 'utf8'));
  const problems = [];
  for (const changeset of report.changesets) {
    for (const release of changeset.releases) {
      if (!workspace.has(release.name)) {
        problems.push(
          `.changeset/${changeset.id}.md releases ${release.name}, which is not a workspace package`,
        );
      }
      if (!['patch', 'minor', 'major'].includes(release.type)) {
        problems.push(
          `.changeset/${changeset.id}.md: ${release.name} has bump type ${release.type}`,
        );
      }
    }
  }
  return problems;
}

/**
 * Runs attw on a packed tarball with the ESM-only profile (the packages ship no CommonJS).
 *
 * @param {string} tarball
 * @returns {Promise<string[]>} problems, empty when attw is satisfied
 */
export async function checkTarballTypes(tarball) {
  const { status, output } = await runCommand(
    'pnpm',
    ['exec', 'attw', tarball, '--profile', 'esm-only', '--format', 'table-flipped'],
    { cwd: repositoryRoot },
  );
  return status === 0 ? [] : [`attw ${tarball}:\n${output}`];
}

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'x-release-checks-'));
  let failed = false;
  /** @type {(label: string, problems: string[]) => void} */
  const report = (label, problems) => {
    console.log(`${problems.length === 0 ? 'ok  ' : 'FAIL'} ${label}`);
    for (const problem of problems) console.log(`     ${problem.replace(/\n/g, '\n     ')}`);
    failed ||= problems.length > 0;
  };
  try {
    report('changeset status', await checkChangesetStatus(scratch));
    const packages = listPublishedPackages();
    const tarballs = packages.map((entry) => packPackage(entry, scratch));
    packages.forEach((entry, index) => {
      report(
        `${entry.name}: tarball contents`,
        checkTarballContents(/** @type {string} */ (tarballs[index])).problems,
      );
    });
    const typeProblems = await mapLimited(tarballs, 2, checkTarballTypes);
    packages.forEach((entry, index) => report(`${entry.name}: attw`, typeProblems[index] ?? []));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main();
