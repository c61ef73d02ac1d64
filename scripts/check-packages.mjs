#!/usr/bin/env node
// Package hygiene for every workspace package (DESIGN.md §9):
//   1. it builds alone: with every dist/ removed but those of its declared workspace dependencies,
//      its own `build` script succeeds, which proves its dependencies are declared (pnpm's strict
//      node_modules does the rest). The dependencies' dist/ come from turbo's cache (`pnpm build`
//      ran first; each of them is itself checked in its own turn), so each package is really
//      built once here, not once per package that depends on it;
//   2. publint --strict reports nothing;
// attw on each packed tarball runs in the release checks (scripts/release/release-checks.mjs), which
// pack every package anyway, so it is not repeated here.
// Exits non-zero on the first failing package, naming it.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dirs = ['packages', 'apps'].flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, group, d.name, 'package.json')))
    .map((d) => join(group, d.name)),
);

const run = (cmd, args, cwd = root) => execFileSync(cmd, args, { cwd, stdio: 'inherit' });

const only = process.argv.includes('--only')
  ? process.argv[process.argv.indexOf('--only') + 1]
  : undefined;
for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  if (only && pkg.name !== only) continue;
  console.log(`\n== ${pkg.name} (${dir})`);
  for (const d of dirs) rmSync(join(root, d, 'dist'), { recursive: true, force: true });
  // Its dependencies only (`name^...` excludes the package itself), restored from the cache.
  const workspaceDependencies = Object.values({ ...pkg.dependencies, ...pkg.devDependencies });
  if (workspaceDependencies.some((range) => String(range).startsWith('workspace:'))) {
    run('pnpm', [
      'exec',
      'turbo',
      'run',
      'build',
      `--filter=${pkg.name}^...`,
      '--output-logs=errors-only',
    ]);
  }
  run('pnpm', ['run', '--silent', 'build'], join(root, dir));
  if (pkg.private) {
    console.log(`${pkg.name}: private app, builds alone; publint skipped (not published)`);
    continue;
  }
  run('pnpm', ['exec', 'publint', '--strict'], join(root, dir));
}
// Leave every package built, as `pnpm build` would.
run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
console.log('\nall packages: build alone, publint clean');
