// The workspace packages that are published to npm (apps are private), and how to pack them the
// way `changeset publish` does (pnpm pack replaces `workspace:` ranges with real versions).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Root of the workspace. */
export const repositoryRoot = new URL('../../', import.meta.url).pathname;

/**
 * @typedef {object} PublishedPackage
 * @property {string} name          e.g. `@x/wal`
 * @property {string} version
 * @property {string} directory     absolute path of the package folder
 * @property {string[]} subpaths    export subpaths that are modules (`.`, `./testing`), not `./package.json`
 * @property {string[]} workspaceDependencies  `@x/*` runtime dependencies
 */

/**
 * @returns {PublishedPackage[]} every non-private package under packages/ and apps/ (kv-node is
 *   published; the other apps are private), sorted by name.
 */
export function listPublishedPackages() {
  return ['packages', 'apps']
    .flatMap((group) => {
      const groupDir = join(repositoryRoot, group);
      return readdirSync(groupDir, { withFileTypes: true })
        .filter(
          (entry) => entry.isDirectory() && existsSync(join(groupDir, entry.name, 'package.json')),
        )
        .map((entry) => join(groupDir, entry.name));
    })
    .map((directory) => {
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8'));
      return { manifest, directory };
    })
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ manifest, directory }) => ({
      name: manifest.name,
      version: manifest.version,
      directory,
      subpaths: Object.keys(manifest.exports ?? { '.': null }).filter(
        (subpath) => !subpath.endsWith('.json'),
      ),
      workspaceDependencies: Object.keys(manifest.dependencies ?? {}).filter((name) =>
        name.startsWith('@x/'),
      ),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** @returns {string[]} names of every package under packages/ and apps/, private ones included. */
export function listWorkspacePackageNames() {
  return ['packages', 'apps'].flatMap((group) => {
    const groupDir = join(repositoryRoot, group);
    return readdirSync(groupDir, { withFileTypes: true })
      .filter(
        (entry) => entry.isDirectory() && existsSync(join(groupDir, entry.name, 'package.json')),
      )
      .map(
        (entry) =>
          JSON.parse(readFileSync(join(groupDir, entry.name, 'package.json'), 'utf8')).name,
      );
  });
}

/**
 * Names of the packages a package needs at run time, itself included, transitively.
 *
 * @param {string} name
 * @param {PublishedPackage[]} packages
 * @returns {string[]}
 */
export function dependencyClosure(name, packages) {
  const byName = new Map(packages.map((entry) => [entry.name, entry]));
  const closure = new Set();
  /** @param {string} current */
  const visit = (current) => {
    if (closure.has(current)) return;
    const entry = byName.get(current);
    if (entry === undefined)
      throw new Error(`${name} depends on ${current}, which is not published`);
    closure.add(current);
    entry.workspaceDependencies.forEach(visit);
  };
  visit(name);
  return [...closure];
}

/**
 * Packs one package into `destination` with pnpm, as publishing would.
 *
 * @param {PublishedPackage} entry
 * @param {string} destination
 * @returns {string} path of the tarball
 * @throws if the package has not been built (no dist/): packing it would publish no code.
 */
export function packPackage(entry, destination) {
  if (!existsSync(join(entry.directory, 'dist'))) {
    throw new Error(`${entry.name}: no dist/ (run \`pnpm build\` first)`);
  }
  const output = execFileSync('pnpm', ['pack', '--json', '--pack-destination', destination], {
    cwd: entry.directory,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { filename } = JSON.parse(output);
  return filename.startsWith('/') ? filename : join(destination, filename);
}

/** Top-level entries a published tarball may hold (issue 11; `bin/` holds command launchers). */
const ALLOWED_TOP_LEVEL = [
  /^dist\//,
  /^bin\/[\w-]+\.js$/,
  /^src\//,
  /^README\.md$/i,
  /^CHANGELOG\.md$/i,
  /^LICENSE$/,
  /^package\.json$/,
];

/**
 * Lists a tarball and reports what it must not or must hold.
 *
 * @param {string} tarball
 * @returns {{ files: string[], problems: string[] }}
 */
export function checkTarballContents(tarball) {
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line !== '' && !line.endsWith('/'))
    .map((line) => line.replace(/^package\//, ''));
  const problems = [];
  for (const file of files) {
    if (!ALLOWED_TOP_LEVEL.some((pattern) => pattern.test(file)))
      problems.push(`unexpected file ${file}`);
    if (/\.(test|bench)\.ts$/.test(file)) problems.push(`test or benchmark file ${file}`);
  }
  for (const required of [
    'package.json',
    'README.md',
    'LICENSE',
    'dist/index.js',
    'dist/index.d.ts',
  ]) {
    if (!files.includes(required)) problems.push(`missing ${required}`);
  }
  return { files, problems };
}
