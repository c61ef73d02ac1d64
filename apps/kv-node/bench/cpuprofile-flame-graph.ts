/**
 * Turns a V8 CPU profile (the `.cpuprofile` JSON that `node --cpu-prof` writes) into a flame graph
 * drawn as a self-contained SVG: no browser, no image service, no library. Each box is a function
 * in a call stack; its width is the share of the process's CPU samples spent in it and in what it
 * called; a box's children stand on it, sorted by name (the x order means nothing, as in Brendan
 * Gregg's flame graphs). Idle samples are left out: the picture shows where the CPU time went.
 */

/** Where a profile node's function is (the fields of V8's `Runtime.CallFrame` used here). */
export interface CpuProfileCallFrame {
  functionName: string;
  url: string;
  /** 0-based. */
  lineNumber: number;
  columnNumber: number;
}

/** One node of V8's call tree. */
export interface CpuProfileNode {
  id: number;
  callFrame: CpuProfileCallFrame;
  /** Samples taken while this node was on top of the stack (absent in some writers). */
  hitCount?: number;
  children?: number[];
}

/** A `.cpuprofile` file: V8's `Profiler.Profile`. */
export interface CpuProfile {
  nodes: CpuProfileNode[];
  /** Microseconds. */
  startTime: number;
  /** Microseconds. */
  endTime: number;
  /** The node on top of the stack at each sample. */
  samples?: number[];
  /** Microseconds since the previous sample, one per sample. */
  timeDeltas?: number[];
}

/** One box of the flame graph: a function in one call stack, with its callees. */
export interface FlameFrame {
  /** The function's name, with `(anonymous)` for unnamed ones. */
  name: string;
  /** Where the function is, without this machine's directories (see {@link shortLocation}). */
  location: string;
  /** What kind of code it is; decides the colour. */
  category: FrameCategory;
  /** Samples in this function and its callees. */
  samples: number;
  /** Samples in this function itself. */
  selfSamples: number;
  children: FlameFrame[];
}

/**
 * kv-node's own code, a pattern package of this repository (`@x/*`), an npm dependency, Node's
 * own JavaScript, or V8 itself (compiled code not attributed to a function, the garbage collector).
 */
export type FrameCategory = 'kv-node' | 'pattern-package' | 'npm' | 'node' | 'v8';

/** The tree of a profile, with what the picture's caption states. */
export interface FlameTree {
  /** The root (`all`): every non-idle sample. */
  root: FlameFrame;
  /** Every sample, idle ones included. */
  totalSamples: number;
  idleSamples: number;
  /** Mean time between samples, in ms. */
  sampleIntervalMs: number;
}

/** What V8 names the samples taken while the thread waited for work. */
const IDLE = '(idle)';

/**
 * A location without the directories of the machine that wrote the profile: from the repository's
 * `apps/` or `packages/` folder, or from the last `node_modules/`, else the file name.
 */
export function shortLocation(frame: CpuProfileCallFrame): string {
  if (frame.url === '') return '';
  const path = frame.url.replace(/^file:\/\//, '');
  const line = frame.lineNumber >= 0 ? `:${frame.lineNumber + 1}` : '';
  if (path.startsWith('node:')) return `${path}${line}`;
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) return `${path.slice(modules + 1)}${line}`;
  const repository = /\/((?:apps|packages)\/.*)$/.exec(path);
  if (repository !== null) return `${repository[1]}${line}`;
  return `${path.slice(path.lastIndexOf('/') + 1)}${line}`;
}

/** What kind of code a call frame is. */
export function categoryOf(frame: CpuProfileCallFrame): FrameCategory {
  const url = frame.url;
  if (url.startsWith('node:')) return 'node';
  if (url.includes('/node_modules/')) return 'npm';
  if (url.includes('/packages/')) return 'pattern-package';
  if (url.includes('/apps/kv-node/')) return 'kv-node';
  // Native functions, `(program)`, `(garbage collector)`, `(root)`.
  return url === '' ? 'v8' : 'kv-node';
}

/**
 * A stretch of the profiled process's life, in the profile's own clock: microseconds of the
 * system's monotonic clock (`startTime`, `endTime`), which is also what `process.hrtime` reads in
 * another process on the same machine.
 */
export interface ProfileWindow {
  startUs: number;
  endUs: number;
}

/**
 * Samples per node: from `samples` (only those taken within `window`, when given) when the profile
 * has them, else V8's `hitCount`.
 *
 * @throws Error if a window is asked of a profile without sample times.
 */
function samplesPerNode(
  profile: CpuProfile,
  window: ProfileWindow | undefined,
): Map<number, number> {
  const counts = new Map<number, number>();
  const samples = profile.samples ?? [];
  if (samples.length > 0) {
    const deltas = profile.timeDeltas;
    if (window !== undefined && deltas?.length !== samples.length) {
      throw new Error('the profile has no sample times: it cannot be cut to a window');
    }
    let atUs = profile.startTime;
    samples.forEach((id, index) => {
      atUs += deltas?.[index] ?? 0;
      if (window !== undefined && (atUs < window.startUs || atUs > window.endUs)) return;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    });
  } else {
    if (window !== undefined) throw new Error('the profile has no samples to cut to a window');
    for (const node of profile.nodes) counts.set(node.id, node.hitCount ?? 0);
  }
  return counts;
}

/**
 * Builds the flame graph's tree. Frames for the same function (name and location) under the
 * same parent are merged, so each call stack appears once; idle samples are counted, not drawn.
 *
 * @param window when given, only the samples taken within it (e.g. the measured run, without the
 *   process's start-up).
 * @throws Error if the profile has no root node, a child id names no node, or `window` is given
 *   for a profile without sample times.
 */
export function flameTreeOf(profile: CpuProfile, window?: ProfileWindow): FlameTree {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const childIds = new Set(profile.nodes.flatMap((node) => node.children ?? []));
  const rootNode = profile.nodes.find((node) => !childIds.has(node.id));
  if (rootNode === undefined) throw new Error('the profile has no root node');
  const counts = samplesPerNode(profile, window);
  let idleSamples = 0;
  let totalSamples = 0;
  for (const [id, count] of counts) {
    totalSamples += count;
    if (byId.get(id)?.callFrame.functionName === IDLE) idleSamples += count;
  }

  const root: FlameFrame = {
    name: 'all',
    location: '',
    category: 'v8',
    samples: 0,
    selfSamples: 0,
    children: [],
  };
  // Iterative depth-first walk: a deep recursion in the profiled program must not overflow ours.
  const pending: { node: CpuProfileNode; parent: FlameFrame }[] = (rootNode.children ?? []).map(
    (id) => ({ node: nodeById(byId, id), parent: root }),
  );
  while (pending.length > 0) {
    const { node, parent } = pending.pop()!;
    if (node.callFrame.functionName === IDLE) continue;
    const name = node.callFrame.functionName === '' ? '(anonymous)' : node.callFrame.functionName;
    const location = shortLocation(node.callFrame);
    let frame = parent.children.find((child) => child.name === name && child.location === location);
    if (frame === undefined) {
      frame = {
        name,
        location,
        category: categoryOf(node.callFrame),
        samples: 0,
        selfSamples: 0,
        children: [],
      };
      parent.children.push(frame);
    }
    frame.selfSamples += counts.get(node.id) ?? 0;
    for (const id of node.children ?? []) pending.push({ node: nodeById(byId, id), parent: frame });
  }
  sumSamples(root);
  const durationMs =
    window === undefined
      ? (profile.endTime - profile.startTime) / 1000
      : (Math.min(window.endUs, profile.endTime) - Math.max(window.startUs, profile.startTime)) /
        1000;
  return {
    root,
    totalSamples,
    idleSamples,
    sampleIntervalMs: totalSamples === 0 ? 0 : durationMs / totalSamples,
  };
}

function nodeById(byId: ReadonlyMap<number, CpuProfileNode>, id: number): CpuProfileNode {
  const node = byId.get(id);
  if (node === undefined) throw new Error(`the profile names a child ${id} that is not a node`);
  return node;
}

/**
 * Sets each frame's `samples` to its own plus its callees', bottom up; drops callees without
 * samples and sorts the others by name.
 */
function sumSamples(root: FlameFrame): void {
  const order: FlameFrame[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    order.push(frame);
    stack.push(...frame.children);
  }
  for (const frame of order.reverse()) {
    frame.samples =
      frame.selfSamples + frame.children.reduce((sum, child) => sum + child.samples, 0);
    // Stacks never sampled (or sampled only outside the window) are no boxes.
    frame.children = frame.children.filter((child) => child.samples > 0);
    frame.children.sort((a, b) => (a.name === b.name ? 0 : a.name < b.name ? -1 : 1));
  }
}

/** The functions with the most samples of their own, most first (for a caption or a report). */
export function topSelfFrames(
  tree: FlameTree,
  count: number,
): { name: string; location: string; selfSamples: number }[] {
  const totals = new Map<string, { name: string; location: string; selfSamples: number }>();
  const stack = [tree.root];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    stack.push(...frame.children);
    if (frame === tree.root || frame.selfSamples === 0) continue;
    const key = `${frame.name} ${frame.location}`;
    const total = totals.get(key) ?? { name: frame.name, location: frame.location, selfSamples: 0 };
    total.selfSamples += frame.selfSamples;
    totals.set(key, total);
  }
  return [...totals.values()].sort((a, b) => b.selfSamples - a.selfSamples).slice(0, count);
}

/** Options of {@link flameGraphSvg}. */
export interface FlameGraphOptions {
  /** The heading drawn above the graph. */
  title: string;
  /** A line under the heading (what was profiled, how); default: the sample counts. */
  subtitle?: string;
  /** Width of the picture in px (default 1200). */
  width?: number;
  /** Frames narrower than this share of the samples are left out (default 0.002: 0.2%). */
  minShare?: number;
}

const FRAME_HEIGHT = 17;
const FONT_SIZE = 11;
/** Roughly the width of one character of an 11 px sans-serif font. */
const CHARACTER_WIDTH = 6.2;
const PADDING = 10;
const HEADER_HEIGHT = 52;
const LEGEND_HEIGHT = 28;

/** Warm colours per category, lighter and darker by a hash of the name so neighbours differ. */
const PALETTE: Readonly<Record<FrameCategory, { hue: number; label: string }>> = {
  'kv-node': { hue: 20, label: 'kv-node' },
  'pattern-package': { hue: 45, label: '@x/* pattern packages' },
  npm: { hue: 300, label: 'npm dependencies' },
  node: { hue: 200, label: 'Node.js internals' },
  v8: { hue: 0, label: 'V8 (native, GC, unattributed)' },
};

function colourOf(frame: FlameFrame): string {
  let hash = 0;
  for (let index = 0; index < frame.name.length; index++) {
    hash = (hash * 31 + frame.name.charCodeAt(index)) >>> 0;
  }
  const { hue } = PALETTE[frame.category];
  const saturation = frame.category === 'v8' ? 10 : 75;
  const lightness = 62 + (hash % 16);
  return `hsl(${hue + (hash % 12)}, ${saturation}%, ${lightness}%)`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** `text` cut to fit `width` px, with an ellipsis; empty when not even two characters fit. */
function fitted(text: string, width: number): string {
  const room = Math.floor((width - 6) / CHARACTER_WIDTH);
  if (room < 3) return '';
  return text.length <= room ? text : `${text.slice(0, room - 1)}…`;
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${((100 * part) / whole).toFixed(1)}%`;
}

/**
 * Draws the tree as an SVG flame graph: the root at the bottom, callees above their callers.
 * Every box has a `<title>` (name, location, ms and share), shown on hover when the SVG is opened
 * on its own.
 */
export function flameGraphSvg(tree: FlameTree, options: FlameGraphOptions): string {
  const width = options.width ?? 1200;
  const minShare = options.minShare ?? 0.002;
  const total = tree.root.samples;
  const graphWidth = width - 2 * PADDING;
  const minSamples = total * minShare;
  const boxes: string[] = [];
  let depthReached = 0;
  // Laid out top-down in depth (root at depth 0), drawn bottom-up below.
  const laid: { frame: FlameFrame; x: number; depth: number; boxWidth: number }[] = [];
  const stack = [{ frame: tree.root, x: 0, depth: 0 }];
  while (stack.length > 0) {
    const { frame, x, depth } = stack.pop()!;
    const boxWidth = total === 0 ? graphWidth : (graphWidth * frame.samples) / total;
    laid.push({ frame, x, depth, boxWidth });
    depthReached = Math.max(depthReached, depth);
    let childX = x;
    for (const child of frame.children) {
      if (child.samples >= minSamples && child.samples > 0) {
        stack.push({ frame: child, x: childX, depth: depth + 1 });
      }
      childX += total === 0 ? 0 : (graphWidth * child.samples) / total;
    }
  }
  const graphHeight = (depthReached + 1) * FRAME_HEIGHT;
  const height = HEADER_HEIGHT + graphHeight + LEGEND_HEIGHT + PADDING;
  const baseline = HEADER_HEIGHT + graphHeight;
  for (const { frame, x, depth, boxWidth } of laid) {
    const y = baseline - (depth + 1) * FRAME_HEIGHT;
    const ms = frame.samples * tree.sampleIntervalMs;
    const where = frame.location === '' ? '' : ` (${frame.location})`;
    const title =
      `${frame.name}${where}: ${ms.toFixed(0)} ms, ${percent(frame.samples, total)} of the CPU samples` +
      (frame.selfSamples > 0 ? `, ${percent(frame.selfSamples, total)} in itself` : '');
    const label = fitted(frame.name, boxWidth);
    boxes.push(
      `<g><title>${escapeXml(title)}</title>` +
        `<rect x="${(PADDING + x).toFixed(1)}" y="${y}" width="${Math.max(boxWidth - 0.5, 0.1).toFixed(1)}" height="${FRAME_HEIGHT - 1}" fill="${frame === tree.root ? '#ddd' : colourOf(frame)}" rx="2"/>` +
        (label === ''
          ? ''
          : `<text x="${(PADDING + x + 3).toFixed(1)}" y="${y + FRAME_HEIGHT - 5}">${escapeXml(label)}</text>`) +
        `</g>`,
    );
  }
  const idle = percent(tree.idleSamples, tree.totalSamples);
  const subtitle =
    options.subtitle ??
    `${total} CPU samples (${(total * tree.sampleIntervalMs).toFixed(0)} ms) drawn; ${idle} of all samples idle, left out`;
  const legend = Object.values(PALETTE)
    .map(({ hue, label }, index) => {
      const x = PADDING + index * 230;
      return (
        `<rect x="${x}" y="${baseline + 8}" width="12" height="12" fill="hsl(${hue}, ${label.startsWith('V8') ? 10 : 75}%, 66%)"/>` +
        `<text x="${x + 17}" y="${baseline + 18}">${escapeXml(label)}</text>`
      );
    })
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="${FONT_SIZE}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" font-size="16" text-anchor="middle">${escapeXml(options.title)}</text>`,
    `<text x="${width / 2}" y="40" fill="#555" text-anchor="middle">${escapeXml(subtitle)}</text>`,
    ...boxes,
    legend,
    `</svg>`,
    '',
  ].join('\n');
}
