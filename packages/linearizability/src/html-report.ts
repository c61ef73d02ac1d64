import type { NotLinearizable } from './check-result.js';
import type { Model } from './model.js';
import type { Operation } from './operation.js';

/** Options of {@link renderHtmlReport}. */
export interface HtmlReportOptions<State> {
  /** The model the history was checked against, to label operations. */
  readonly model: Model<State>;
  /** A heading, such as the history's file name. */
  readonly title?: string;
  /** Events shown on each side of the failing operation (default 60). */
  readonly contextEvents?: number;
}

const laneHeight = 28;
const barHeight = 18;
/** Pixels per history event: at least this many... */
const minUnit = 14;
/** ...and no wider a timeline than this, unless `minUnit` needs more. */
const widestTimeline = 1600;
/** Width of one character of a bar's label (11 px monospace), with room for the padding. */
const charWidth = 7;
const gutter = 90;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * A self-contained HTML page (inline SVG and CSS, no scripts or network) drawing the failing key's
 * operations around the failure as a timeline, one lane per process, as Porcupine and Knossos do:
 * operations placed in the longest legal order are numbered, the one that cannot be placed is red,
 * indeterminate ones fade out to the right.
 */
export function renderHtmlReport<State>(
  result: NotLinearizable,
  options: HtmlReportOptions<State>,
): string {
  const model = options.model as Model<unknown>;
  const context = options.contextEvents ?? 60;
  const failing = result.failingOperation;
  const failingEnd = Number.isFinite(failing.completeIndex)
    ? failing.completeIndex
    : failing.invokeIndex + 1;
  const from = failing.invokeIndex - context;
  const to = failingEnd + context;
  const shown = result.keyOperations.filter(
    (operation) => operation.invokeIndex <= to && operation.completeIndex >= from,
  );
  const first = Math.max(from, Math.min(...shown.map((operation) => operation.invokeIndex)));
  const finiteEnds = shown.map((operation) => operation.completeIndex).filter(Number.isFinite);
  const last = Math.min(to, Math.max(first + 1, ...finiteEnds)) + 1;
  const processes = [...new Set(shown.map((operation) => String(operation.process)))];
  const lane = new Map(processes.map((process, index) => [process, index]));
  const order = new Map(
    result.linearizablePrefix.map((operation, index) => [operation, index + 1]),
  );
  const labelOf = (operation: Operation) => {
    const placed = order.get(operation);
    return model.describeOperation(operation) + (placed === undefined ? '' : ` #${placed}`);
  };
  const clip = (index: number) => Math.min(Math.max(index, first), last);
  // A short window gets bars as wide as their labels, so a small history reads without hovering;
  // a long one keeps to `widestTimeline` and relies on the tooltips.
  const neededUnit = Math.max(
    ...shown.map((operation) => {
      const end = Number.isFinite(operation.completeIndex) ? operation.completeIndex : last;
      const events = Math.max(1, clip(end) - clip(operation.invokeIndex));
      return Math.ceil((labelOf(operation).length * charWidth + 8) / events);
    }),
  );
  const unit = Math.max(minUnit, Math.min(neededUnit, Math.floor(widestTimeline / (last - first))));
  const x = (index: number) => gutter + (clip(index) - first) * unit;
  const width = x(last) + 20;
  const height = processes.length * laneHeight + 30;

  const bars = shown.map((operation: Operation) => {
    const y = lane.get(String(operation.process))! * laneHeight + 20;
    const start = x(operation.invokeIndex);
    const open = !Number.isFinite(operation.completeIndex);
    const end = Math.max(start + 6, x(open ? last : operation.completeIndex));
    const placed = order.get(operation);
    const kind =
      (operation === failing ? 'failing' : placed !== undefined ? 'placed' : 'other') +
      (open ? ' open' : '');
    const label = labelOf(operation);
    const tooltip = `process ${String(operation.process)}: ${label} (events ${operation.invokeIndex}..${open ? '…' : operation.completeIndex})`;
    return `<g class="${kind}"><title>${escapeHtml(tooltip)}</title><rect x="${start}" y="${y}" width="${end - start}" height="${barHeight}" rx="3"${open ? ' fill="url(#open)"' : ''}/><text x="${start + 4}" y="${y + 13}">${escapeHtml(label)}</text></g>`;
  });
  const laneLabels = processes.map(
    (process, index) =>
      `<text class="lane" x="4" y="${index * laneHeight + 33}">process ${escapeHtml(process)}</text>`,
  );
  const placedList = result.linearizablePrefix
    .slice(-20)
    .map(
      (operation) =>
        `<li>${escapeHtml(model.describeOperation(operation))} <small>(process ${escapeHtml(String(operation.process))})</small></li>`,
    )
    .join('');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Not linearizable: ${escapeHtml(options.title ?? `key ${result.key}`)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
svg{border:1px solid #ddd;background:#fafafa}
g rect{fill:#cfd8dc;stroke:#78909c}
g.placed rect{fill:#c8e6c9;stroke:#388e3c}
g.failing rect{fill:#ffcdd2;stroke:#c62828;stroke-width:2}
g.open rect{stroke-dasharray:4 2}
g text{font:11px ui-monospace,monospace;pointer-events:none}
text.lane{font:12px system-ui,sans-serif;fill:#555}
.scroll{overflow-x:auto}
pre{background:#f4f4f4;padding:12px;overflow-x:auto}
</style></head><body>
<h1>Not linearizable${options.title === undefined ? '' : `: ${escapeHtml(options.title)}`}</h1>
<p>Key <code>${escapeHtml(JSON.stringify(result.key))}</code>, ${escapeHtml(model.name)} model.
The search placed at most ${result.linearizablePrefix.length} operation(s) in a legal order (green, numbered),
reaching state <code>${escapeHtml(result.stateAfterPrefix)}</code>; then no order let
<strong>${escapeHtml(model.describeOperation(failing))}</strong> (process ${escapeHtml(String(failing.process))}, red)
take effect before it returned. The horizontal axis counts history events; dashed bars never completed.</p>
<div class="scroll"><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
<defs><linearGradient id="open"><stop offset="0" stop-color="#cfd8dc"/><stop offset="1" stop-color="#fafafa"/></linearGradient></defs>
${laneLabels.join('\n')}
${bars.join('\n')}
</svg></div>
<h2>Last operations of the longest legal order</h2>
<ol start="${Math.max(1, result.linearizablePrefix.length - 19)}">${placedList}</ol>
<h2>Text timeline</h2>
<pre>${escapeHtml(result.timeline)}</pre>
</body></html>
`;
}
