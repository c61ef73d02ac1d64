/**
 * The flame graph drawn from a V8 CPU profile (bench/cpuprofile-flame-graph.ts): stacks merged,
 * samples summed up the stack, idle left out, widths proportional to samples, names escaped, and
 * no directory of the profiling machine in the picture.
 */

import { describe, expect, it } from 'vitest';
import type { CpuProfile, CpuProfileNode } from '../bench/cpuprofile-flame-graph.js';
import {
  categoryOf,
  flameGraphSvg,
  flameTreeOf,
  shortLocation,
  topSelfFrames,
} from '../bench/cpuprofile-flame-graph.js';

const REPOSITORY = 'file:///home/someone/checkout';

function frame(id: number, functionName: string, url: string, children: number[] = []) {
  return {
    id,
    callFrame: { functionName, url, lineNumber: 9, columnNumber: 0 },
    children,
  } satisfies CpuProfileNode;
}

/**
 * (root) → (idle); (root) → serve → appendDurably (twice: V8 split it into two nodes) and
 * → <encode>; (root) → (garbage collector). Samples: idle 6, serve 1, appendDurably 2 + 3,
 * <encode> 2, GC 2: 10 busy samples of 16, one per millisecond.
 */
function profile(): CpuProfile {
  const wal = `${REPOSITORY}/packages/wal/dist/index.js`;
  const nodes = [
    frame(1, '(root)', '', [2, 3, 7]),
    frame(2, '(idle)', ''),
    frame(3, 'serve', `${REPOSITORY}/apps/kv-node/dist/cli.js`, [4, 5, 6]),
    frame(4, 'appendDurably', wal),
    frame(5, 'appendDurably', wal),
    frame(6, '<encode>', `${REPOSITORY}/node_modules/.pnpm/pino@10/node_modules/pino/x.js`),
    frame(7, '(garbage collector)', ''),
  ];
  const samples = [2, 2, 2, 2, 2, 2, 3, 4, 4, 5, 5, 5, 6, 6, 7, 7];
  return {
    nodes,
    startTime: 0,
    endTime: 16_000,
    samples,
    timeDeltas: samples.map(() => 1000),
  };
}

describe('flame graph of a CPU profile', () => {
  it('merges equal stacks, sums samples up the stack and leaves idle out', () => {
    const tree = flameTreeOf(profile());
    expect(tree.totalSamples).toBe(16);
    expect(tree.idleSamples).toBe(6);
    expect(tree.sampleIntervalMs).toBe(1);
    expect(tree.root.samples).toBe(10);
    expect(tree.root.children.map((child) => [child.name, child.samples])).toEqual([
      ['(garbage collector)', 2],
      ['serve', 8],
    ]);
    const serve = tree.root.children[1]!;
    expect(serve.selfSamples).toBe(1);
    expect(serve.children.map((child) => [child.name, child.samples, child.category])).toEqual([
      ['<encode>', 2, 'npm'],
      ['appendDurably', 5, 'pattern-package'],
    ]);
    expect(topSelfFrames(tree, 2)).toEqual([
      { name: 'appendDurably', location: 'packages/wal/dist/index.js:10', selfSamples: 5 },
      { name: '<encode>', location: 'node_modules/pino/x.js:10', selfSamples: 2 },
    ]);
  });

  it('draws boxes as wide as their share, escaped, without the machine’s directories', () => {
    const svg = flameGraphSvg(flameTreeOf(profile()), { title: 'a <test>', width: 1020 });
    expect(svg).not.toContain('/home/someone');
    expect(svg).not.toContain('(idle)');
    expect(svg).toContain('a &#60;test&#62;');
    expect(svg).toContain('&#60;encode&#62;');
    expect(svg).not.toContain('<encode>');
    // 1000 px of graph for 10 samples: 100 px a sample (less the half-pixel gap between boxes).
    const widthOf = (name: string) =>
      Number(new RegExp(`<title>${name}[^<]*</title><rect [^>]*width="([\\d.]+)"`).exec(svg)?.[1]);
    expect(widthOf('all')).toBeCloseTo(999.5, 1);
    expect(widthOf('serve')).toBeCloseTo(799.5, 1);
    expect(widthOf('appendDurably')).toBeCloseTo(499.5, 1);
    expect(svg).toContain(
      '<title>appendDurably (packages/wal/dist/index.js:10): 5 ms, 50.0% of the CPU samples, 50.0% in itself</title>',
    );
    expect(svg.match(/<rect [^>]*rx="2"/g)).toHaveLength(5);
  });

  it('leaves out boxes under the smallest share', () => {
    const svg = flameGraphSvg(flameTreeOf(profile()), { title: 't', minShare: 0.25 });
    expect(svg).toContain('<title>serve');
    expect(svg).toContain('<title>appendDurably');
    expect(svg).not.toContain('<title>(garbage collector)');
    expect(svg).not.toContain('<title>&#60;encode&#62;');
  });

  it('draws only the samples taken within a window of the profile’s clock', () => {
    // Sample i is taken at (i + 1) ms: keep samples 7 to 10 (serve, appendDurably ×3).
    const tree = flameTreeOf(profile(), { startUs: 7_000, endUs: 10_000 });
    expect(tree.totalSamples).toBe(4);
    expect(tree.idleSamples).toBe(0);
    expect(tree.sampleIntervalMs).toBe(0.75);
    expect(tree.root.children.map((child) => [child.name, child.samples])).toEqual([['serve', 4]]);
    const timeless = profile();
    delete timeless.timeDeltas;
    expect(() => flameTreeOf(timeless, { startUs: 0, endUs: 1 })).toThrow(/no sample times/);
  });

  it('uses hitCount when the profile has no samples, and refuses a broken tree', () => {
    const counted = profile();
    delete counted.samples;
    counted.nodes = counted.nodes.map((node) => ({ ...node, hitCount: node.id === 3 ? 4 : 0 }));
    expect(flameTreeOf(counted).root.samples).toBe(4);
    const broken = profile();
    broken.nodes[0]!.children = [2, 99];
    expect(() => flameTreeOf(broken)).toThrow(/child 99/);
  });

  it('names locations and categories without the checkout directory', () => {
    const at = (url: string) => ({ functionName: 'f', url, lineNumber: 0, columnNumber: 0 });
    expect(shortLocation(at('node:internal/streams/writable'))).toBe(
      'node:internal/streams/writable:1',
    );
    expect(shortLocation(at(`${REPOSITORY}/apps/kv-node/dist/cli.js`))).toBe(
      'apps/kv-node/dist/cli.js:1',
    );
    expect(shortLocation(at('file:///elsewhere/tool.js'))).toBe('tool.js:1');
    expect(shortLocation(at(''))).toBe('');
    expect(categoryOf(at('node:net'))).toBe('node');
    expect(categoryOf(at(`${REPOSITORY}/apps/kv-node/dist/cli.js`))).toBe('kv-node');
    expect(categoryOf(at(''))).toBe('v8');
  });
});
