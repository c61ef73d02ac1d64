#!/usr/bin/env node
// Install smoke test (issue 11): for each published package, a fresh project OUTSIDE the
// workspace installs that package's packed tarball (and the tarballs of the @x packages it needs,
// nothing else) with npm, then imports every export subpath from ESM JavaScript and type-checks
// the same imports with TypeScript under moduleResolution node16 and bundler. This proves a user
// can cherry-pick one package. Needs `pnpm build` first; reaches no network but the npm registry
// (for @types/node, usually from npm's cache).
//   node scripts/release/smoke.mjs [--keep]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dependencyClosure,
  listPublishedPackages,
  packPackage,
  repositoryRoot,
} from './published-packages.mjs';
import { mapLimited, runCommand } from './run-command.mjs';

const require = createRequire(join(repositoryRoot, 'package.json'));
/** The workspace's TypeScript compiler: the smoke projects use the version the repository uses. */
const tsc = require.resolve('typescript/bin/tsc');
/** The @types/node the workspace builds against, installed the way a user would. */
const typesNodeVersion = JSON.parse(
  readFileSync(require.resolve('@types/node/package.json'), 'utf8'),
).version;

const TS_CONFIGS = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
};

/**
 * @param {string} name
 * @param {string} subpath
 */
function identifierOf(name, subpath) {
  return `${name}${subpath === '.' ? '' : subpath.slice(1)}`.replace(
    /[^A-Za-z0-9]+(.)?/g,
    (_, next) => (next === undefined ? '' : next.toUpperCase()),
  );
}

/**
 * Creates a project outside the workspace, installs the given tarballs with npm, imports every
 * export subpath of `imported` from ESM JavaScript and type-checks the same imports under each
 * moduleResolution mode.
 *
 * @param {string} projectDir
 * @param {import('./published-packages.mjs').PublishedPackage[]} imported
 * @param {string[]} tarballPaths
 * @param {boolean} checkDeclarations whether tsc also checks the installed declaration files
 *   (skipLibCheck off: slower, as it checks @types/node too)
 * @returns {Promise<string[]>} problems, empty when every check passed
 */
async function smokeTestProject(projectDir, imported, tarballPaths, checkDeclarations) {
  mkdirSync(projectDir, { recursive: true });
  writeFileSync(
    join(projectDir, 'package.json'),
    JSON.stringify({ name: 'smoke-project', private: true, type: 'module' }, null, 2),
  );
  const install = await runCommand(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
      ...tarballPaths,
      `@types/node@${typesNodeVersion}`,
    ],
    { cwd: projectDir },
  );
  if (install.status !== 0) return [`npm install exited ${install.status}:\n${install.output}`];

  const problems = [];
  const imports = imported.flatMap((entry) =>
    entry.subpaths.map((subpath) => ({
      specifier: subpath === '.' ? entry.name : `${entry.name}/${subpath.slice(2)}`,
      identifier: identifierOf(entry.name, subpath),
    })),
  );
  const importLines = imports.map(
    ({ specifier, identifier }) => `import * as ${identifier} from '${specifier}';`,
  );
  // ESM JavaScript: every subpath loads and has named exports.
  writeFileSync(
    join(projectDir, 'smoke.mjs'),
    [
      ...importLines,
      ...imports.map(
        ({ specifier, identifier }) =>
          `if (Object.keys(${identifier}).length === 0) throw new Error('${specifier} exports nothing');`,
      ),
      '',
    ].join('\n'),
  );
  const esm = await runCommand(process.execPath, ['smoke.mjs'], { cwd: projectDir });
  if (esm.status !== 0) problems.push(`ESM import failed:\n${esm.output}`);

  // TypeScript: the same imports resolve to declarations and type-check.
  writeFileSync(
    join(projectDir, 'smoke.ts'),
    [
      ...importLines,
      `export const exported: string[] = [${imports.map(({ identifier }) => `...Object.keys(${identifier})`).join(', ')}];`,
      '',
    ].join('\n'),
  );
  for (const [mode, options] of Object.entries(TS_CONFIGS)) {
    writeFileSync(
      join(projectDir, `tsconfig.${mode}.json`),
      JSON.stringify({
        compilerOptions: {
          ...options,
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: !checkDeclarations,
          types: ['node'],
        },
        files: ['smoke.ts'],
      }),
    );
    const check = await runCommand(process.execPath, [tsc, '-p', `tsconfig.${mode}.json`], {
      cwd: projectDir,
    });
    if (check.status !== 0)
      problems.push(`tsc (moduleResolution ${mode}) failed:\n${check.output}`);
  }
  return problems;
}

/**
 * Cherry-picks one package: a project with only its tarball and those of the @x packages it
 * needs, so an undeclared dependency fails to install or import.
 *
 * @param {import('./published-packages.mjs').PublishedPackage} entry
 * @param {Map<string, string>} tarballs tarball path by package name
 * @param {string} scratch
 * @returns {Promise<string[]>} problems, empty when every check passed
 */
export function smokeTestPackage(entry, tarballs, scratch) {
  const closure = dependencyClosure(entry.name, listPublishedPackages());
  return smokeTestProject(
    join(scratch, `project-${entry.name.replace(/\W+/g, '-')}`),
    [entry],
    closure.map((name) => /** @type {string} */ (tarballs.get(name))),
    false,
  );
}

/**
 * Installs every package into one project and type-checks their declaration files as a user's
 * compiler with skipLibCheck off would (once for all packages: checking @types/node is the cost).
 *
 * @param {Map<string, string>} tarballs tarball path by package name
 * @param {string} scratch
 * @returns {Promise<string[]>} problems, empty when every check passed
 */
export function smokeTestDeclarations(tarballs, scratch) {
  return smokeTestProject(
    join(scratch, 'project-all-packages'),
    listPublishedPackages(),
    [...tarballs.values()],
    true,
  );
}

/**
 * Packs every published package into `scratch`.
 *
 * @param {string} scratch
 * @returns {Map<string, string>} tarball path by package name
 */
export function packAll(scratch) {
  const tarballDir = join(scratch, 'tarballs');
  mkdirSync(tarballDir, { recursive: true });
  return new Map(
    listPublishedPackages().map((entry) => [entry.name, packPackage(entry, tarballDir)]),
  );
}

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'x-release-smoke-'));
  try {
    const tarballs = packAll(scratch);
    const packages = listPublishedPackages();
    const [declarationProblems, ...results] = await mapLimited(
      [undefined, ...packages],
      2,
      (entry) =>
        entry === undefined
          ? smokeTestDeclarations(tarballs, scratch)
          : smokeTestPackage(entry, tarballs, scratch),
    );
    if (declarationProblems === undefined) throw new Error('no result');
    let failed = declarationProblems.length > 0;
    console.log(
      `${failed ? 'FAIL' : 'ok  '} all packages together: declarations type-check (skipLibCheck off)`,
    );
    for (const problem of declarationProblems)
      console.log(`     ${problem.replace(/\n/g, '\n     ')}`);
    packages.forEach((entry, index) => {
      const problems = results[index] ?? [];
      console.log(
        `${problems.length === 0 ? 'ok  ' : 'FAIL'} ${entry.name}: installs alone, imports from ESM and TypeScript (node16, bundler)`,
      );
      for (const problem of problems) console.log(`     ${problem.replace(/\n/g, '\n     ')}`);
      failed ||= problems.length > 0;
    });
    process.exitCode = failed ? 1 : 0;
  } finally {
    if (process.argv.includes('--keep')) console.log(`kept ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main();
