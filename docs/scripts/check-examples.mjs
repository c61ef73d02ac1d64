#!/usr/bin/env node
// Typechecks every TypeScript example of the documentation, so an example cannot silently rot
// when an API changes.
//
// Sources: docs/**/*.md (not the built site) and the README.md of every package and app.
// Every fenced block whose info string starts with `ts` or `typescript` is an example. Words after
// the language change how it is treated:
//   ```ts nocheck   intentionally partial (a fragment, pseudo-code): not compiled. Keep these rare.
//   ```ts continue  continues the previous example of the same file (same scope, same imports).
//   ```ts run       also executed by docs/examples.test.ts (must finish quickly and clean up).
// Each example becomes one module in docs/dist/examples/ (inside the workspace, so `@x/*` imports
// resolve through docs/node_modules and the "@x/source" condition to each package's src/), and
// all of them are compiled in one TypeScript program with the repository's tsconfig.base.json.
// Errors are reported at the Markdown file and line they come from; errors inside the packages'
// own sources are not the examples' fault and are ignored.
//
// Usage: node docs/scripts/check-examples.mjs   (exit 1 if an example does not compile)

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

/** The docs folder and the repository root. */
export const docsDirectory = resolve(here, '..');
export const repositoryRoot = resolve(docsDirectory, '..');
/**
 * Where the examples are written: under dist/, which git, Prettier and ESLint ignore, so a run that
 * is interrupted leaves nothing behind that breaks lint. Removed again by {@link cleanExamples}.
 */
export const examplesDirectory = join(docsDirectory, 'dist', 'examples');

/**
 * Blocks of package and app READMEs (which the docs folder does not own) that are intentionally
 * partial but not yet marked `ts nocheck` by their owners, identified by a hash of their code: a
 * changed block is checked again. Guides under docs/ must use `nocheck` instead.
 */
export const knownPartialBlocks = JSON.parse(
  readFileSync(join(here, 'partial-readme-examples.json'), 'utf8'),
);

/** A short, stable fingerprint of a block's code. */
export function blockHash(code) {
  return createHash('sha256').update(code.trim()).digest('hex').slice(0, 16);
}

const SKIPPED_DIRECTORIES = new Set(['node_modules', 'site', 'dist', '.turbo', 'scripts']);

function markdownFilesUnder(directory) {
  const files = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (SKIPPED_DIRECTORIES.has(entry.name)) continue;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...markdownFilesUnder(path));
    else if (entry.name.endsWith('.md')) files.push(path);
  }
  return files.sort();
}

/** Every Markdown file whose examples are checked, as absolute paths. */
export function documentationFiles() {
  const files = markdownFilesUnder(docsDirectory);
  for (const parent of ['packages', 'apps']) {
    const directory = join(repositoryRoot, parent);
    if (!existsSync(directory)) continue;
    for (const entry of readdirSync(directory, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const readme = join(directory, entry.name, 'README.md');
      if (entry.isDirectory() && existsSync(readme)) files.push(readme);
    }
  }
  return files;
}

/**
 * The fenced code blocks of a Markdown text.
 *
 * @returns {{ language: string, flags: string[], line: number, code: string }[]} where `line` is
 *   the 1-based line of the first line of code.
 */
export function fencedBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  for (let index = 0; index < lines.length; index += 1) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/.exec(lines[index]);
    if (open === null) continue;
    const [, indent, fence, language, rest] = open;
    const body = [];
    let end = index + 1;
    while (end < lines.length && !lines[end].trimStart().startsWith(fence)) {
      body.push(lines[end].startsWith(indent) ? lines[end].slice(indent.length) : lines[end]);
      end += 1;
    }
    blocks.push({
      language: language.toLowerCase(),
      flags: rest.split(/[\s,]+/).filter((flag) => flag !== ''),
      line: index + 2,
      code: body.join('\n'),
    });
    index = end;
  }
  return blocks;
}

/**
 * The TypeScript examples of the documentation, with `continue` blocks merged into the example
 * they continue.
 *
 * @returns {{ id: string, source: string, segments: { firstLine: number, sourceLine: number }[],
 *   code: string, run: boolean }[]} where `source` is relative to the repository root and each
 *   segment maps a line of `code` (0-based) to a line of the Markdown file.
 */
export function collectExamples(files = documentationFiles()) {
  const examples = [];
  let skipped = 0;
  const partial = [];
  const known = new Set(knownPartialBlocks.map((entry) => `${entry.source}#${entry.hash}`));
  for (const file of files) {
    const source = relative(repositoryRoot, file);
    let previous;
    let ordinal = 0;
    for (const block of fencedBlocks(readFileSync(file, 'utf8'))) {
      if (block.language !== 'ts' && block.language !== 'typescript') continue;
      if (block.flags.includes('nocheck')) {
        skipped += 1;
        continue;
      }
      if (!source.startsWith('docs/') && known.has(`${source}#${blockHash(block.code)}`)) {
        partial.push(`${source}:${block.line}`);
        continue;
      }
      if (block.flags.includes('continue') && previous !== undefined) {
        const firstLine = previous.code.split('\n').length;
        previous.code += `\n${block.code}`;
        previous.segments.push({ firstLine, sourceLine: block.line });
        previous.run ||= block.flags.includes('run');
        continue;
      }
      ordinal += 1;
      const slug = source.replace(/\.md$/i, '').replace(/[^A-Za-z0-9]+/g, '-');
      previous = {
        id: `${slug}-${ordinal}`,
        source,
        segments: [{ firstLine: 0, sourceLine: block.line }],
        code: block.code,
        run: block.flags.includes('run'),
      };
      examples.push(previous);
    }
  }
  return Object.assign(examples, { skipped, partial });
}

/** Maps a 0-based line of an example to `file:line` in its Markdown source. */
export function sourceLocation(example, line) {
  let segment = example.segments[0];
  for (const candidate of example.segments) if (candidate.firstLine <= line) segment = candidate;
  return `${example.source}:${segment.sourceLine + line - segment.firstLine}`;
}

/** The path an example is written to. */
export function examplePath(example) {
  return join(examplesDirectory, `${example.id}.ts`);
}

/** Writes the examples as modules, with a tsconfig extending the repository's. */
export function writeExamples(examples) {
  rmSync(examplesDirectory, { recursive: true, force: true });
  mkdirSync(examplesDirectory, { recursive: true });
  for (const example of examples) {
    // `export {}` keeps an example without imports a module (top-level await, own scope); it goes
    // last so that line numbers map one to one.
    writeFileSync(examplePath(example), `${example.code}\nexport {};\n`);
  }
  const tsconfig = {
    extends: relative(examplesDirectory, join(repositoryRoot, 'tsconfig.base.json')),
    compilerOptions: { noEmit: true, declaration: false, declarationMap: false, sourceMap: false },
    include: ['*.ts'],
  };
  writeFileSync(join(examplesDirectory, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
}

/** Removes docs/dist/examples/. */
export function cleanExamples() {
  rmSync(examplesDirectory, { recursive: true, force: true });
  const dist = dirname(examplesDirectory);
  if (existsSync(dist) && readdirSync(dist).length === 0) rmSync(dist, { recursive: true });
}

/**
 * Compiles the written examples in one program.
 *
 * @returns {string[]} one message per error, located in the Markdown source.
 */
export function typecheckExamples(examples) {
  const ts = require('typescript');
  const configPath = join(examplesDirectory, 'tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const byPath = new Map(examples.map((example) => [resolve(examplePath(example)), example]));
  const problems = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file === undefined) {
      problems.push(`TS${diagnostic.code}: ${message}`);
      continue;
    }
    const example = byPath.get(resolve(diagnostic.file.fileName));
    if (example === undefined) continue; // an error in a package's own source
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(
      diagnostic.start ?? 0,
    );
    problems.push(
      `${sourceLocation(example, line)}:${character + 1} TS${diagnostic.code}: ${message}`,
    );
  }
  return problems;
}

/** Collects, writes and typechecks every example; returns the examples and the problems. */
export function checkExamples() {
  const examples = collectExamples();
  writeExamples(examples);
  const problems = typecheckExamples(examples);
  return { examples, problems };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { examples, problems } = checkExamples();
    for (const problem of problems) console.error(problem);
    console.log(
      `check-examples: ${examples.length} examples from ${new Set(examples.map((e) => e.source)).size} files ` +
        `compiled (${examples.skipped} marked nocheck), ${problems.length} errors`,
    );
    for (const location of examples.partial) {
      console.log(
        `check-examples: skipped ${location}: known partial, should be marked ts nocheck`,
      );
    }
    process.exitCode = problems.length === 0 ? 0 : 1;
  } finally {
    if (!process.argv.includes('--keep')) cleanExamples();
  }
}
