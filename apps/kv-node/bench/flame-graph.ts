/**
 * Draws a V8 CPU profile as an SVG flame graph (see `cpuprofile-flame-graph.ts`):
 *
 *   pnpm --filter @x/kv-node run flame-graph <in.cpuprofile> <out.svg> [title]
 *
 * Prints the sample counts and the ten functions with the most CPU samples of their own.
 */

import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { CpuProfile } from './cpuprofile-flame-graph.js';
import { flameGraphSvg, flameTreeOf, topSelfFrames } from './cpuprofile-flame-graph.js';

const [input, output, title] = process.argv.slice(2);
if (input === undefined || output === undefined) {
  console.error('usage: flame-graph <in.cpuprofile> <out.svg> [title]');
  process.exit(2);
}
const tree = flameTreeOf(JSON.parse(await readFile(input, 'utf8')) as CpuProfile);
await writeFile(output, flameGraphSvg(tree, { title: title ?? basename(input) }));
console.log(
  JSON.stringify(
    {
      output,
      samples: tree.totalSamples,
      idleSamples: tree.idleSamples,
      sampleIntervalMs: Math.round(tree.sampleIntervalMs * 1000) / 1000,
      topSelf: topSelfFrames(tree, 10),
    },
    null,
    2,
  ),
);
