#!/usr/bin/env node
// Creates a workspace package from the house template, so every package starts with the same
// build, test, lint, typecheck and docs wiring. Existing files are never overwritten.
//
//   node scripts/create-package.mjs <dir> <description> [--testing] [--private]
//   node scripts/create-package.mjs packages/wal "Write-ahead log" --testing
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const [dir, description, ...flags] = process.argv.slice(2);
if (!dir || !description) {
  console.error(
    'usage: create-package.mjs <packages/name|apps/name> <description> [--testing] [--private]',
  );
  process.exit(2);
}
const withTesting = flags.includes('--testing');
const isPrivate = flags.includes('--private') || dir.startsWith('apps/');
const short = basename(dir);
const name = `@x/${short}`;

const entry = (path) => ({
  '@x/source': `./src/${path}.ts`,
  types: `./dist/${path}.d.ts`,
  default: `./dist/${path}.js`,
});

const exportsMap = { '.': entry('index') };
if (withTesting) exportsMap['./testing'] = entry('testing/index');
exportsMap['./package.json'] = './package.json';

const pkg = {
  name,
  version: '0.0.0',
  description,
  ...(isPrivate ? { private: true } : {}),
  license: 'MIT',
  keywords: ['distributed-systems', 'patterns'],
  homepage: `https://github.com/x-patterns/patterns/tree/main/${dir}#readme`,
  repository: {
    type: 'git',
    url: 'git+https://github.com/x-patterns/patterns.git',
    directory: dir,
  },
  type: 'module',
  sideEffects: false,
  engines: { node: '>=22.12.0' },
  exports: exportsMap,
  main: './dist/index.js',
  types: './dist/index.d.ts',
  files: ['dist', 'src', '!src/**/*.test.ts', '!src/**/*.bench.ts'],
  ...(isPrivate ? {} : { publishConfig: { access: 'public' } }),
  scripts: {
    build: 'tsup',
    test: 'vitest run',
    typecheck: 'tsc --noEmit',
    lint: 'eslint .',
  },
};

const tsupEntries = ['src/index.ts', ...(withTesting ? ['src/testing/index.ts'] : [])];

const files = {
  'package.json': JSON.stringify(pkg, null, 2) + '\n',
  'tsconfig.json':
    JSON.stringify(
      { extends: '../../tsconfig.base.json', include: ['src', '*.ts', 'bench'] },
      null,
      2,
    ) + '\n',
  'tsup.config.ts': `import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ${JSON.stringify(tsupEntries)},
  format: ['esm'],
  target: 'node22',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
});
`,
  'vitest.config.ts': `import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@x/source'] },
  ssr: { resolve: { conditions: ['@x/source'] } },
  test: { name: '${name}', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] },
});
`,
  'typedoc.json':
    JSON.stringify(
      {
        $schema: 'https://typedoc.org/schema.json',
        entryPoints: tsupEntries,
        readme: 'README.md',
      },
      null,
      2,
    ) + '\n',
  'README.md': `# ${name}\n\n${description}\n\n> Status: being built. This package is part of the pattern kit; see the repository README.\n`,
  'src/index.ts': `// ${name}: ${description}\nexport {};\n`,
  ...(withTesting ? { 'src/testing/index.ts': `// Test doubles for ${name}.\nexport {};\n` } : {}),
};

for (const [file, text] of Object.entries(files)) {
  const path = join(dir, file);
  if (existsSync(path)) continue;
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}
console.log(`created ${name} in ${dir}`);
// Leave the new files in house format.
import { execFileSync } from 'node:child_process';
execFileSync('pnpm', ['exec', 'prettier', '--write', '--log-level', 'warn', dir], {
  stdio: 'inherit',
});
