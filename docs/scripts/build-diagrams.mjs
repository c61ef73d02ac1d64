#!/usr/bin/env node
// Draws the pattern guides' pictures from recorded runs of the real code: each playground
// scenario (apps/playground/src/scenarios.ts, the private package @x/playground) is simulated and
// drawn as an SVG sequence diagram, the five-server split's logs as log strips, and the other
// guides' scripted stories over their package's code (apps/playground/src/guide-pictures/), into
// docs/dist/diagrams/
// (git-ignored), where the guides' image links point; typedoc then copies them into the site. Run
// before typedoc. The drawing code is TypeScript, bundled for Node with tsup first.
//
// Usage: node docs/scripts/build-diagrams.mjs

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { playgroundDirectory } from '@x/playground/bundle';
import { build } from 'tsup';

const docsDirectory = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the diagrams are written (the guides link to `../../dist/diagrams/<scenario>.svg`). */
export const diagramsDirectory = join(docsDirectory, 'dist', 'diagrams');

/**
 * Writes one SVG per scenario into {@link diagramsDirectory}.
 *
 * @returns {Promise<string[]>} the files written.
 */
export async function buildDiagrams() {
  const toolDirectory = join(docsDirectory, 'dist', 'diagram-tool');
  await build({
    entry: { 'diagram-tool': join(playgroundDirectory, 'src', 'diagram-tool.ts') },
    outDir: toolDirectory,
    format: ['esm'],
    platform: 'node',
    target: 'node22',
    dts: false,
    clean: true,
    splitting: false,
    config: false,
    silent: true,
    noExternal: [/^@x\//],
    esbuildOptions(options) {
      options.conditions = ['@x/source', 'import', 'default'];
    },
    outExtension: () => ({ js: '.js' }),
  });
  const tool = await import(pathToFileURL(join(toolDirectory, 'diagram-tool.js')).href);
  mkdirSync(diagramsDirectory, { recursive: true });
  const written = [];
  for (const { id, svg } of await tool.allScenarioDiagrams()) {
    const file = join(diagramsDirectory, `${id}.svg`);
    writeFileSync(file, svg);
    written.push(file);
  }
  rmSync(toolDirectory, { recursive: true, force: true });
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const written = await buildDiagrams();
  console.log(`diagrams: ${written.length} pictures drawn from recorded runs`);
}
