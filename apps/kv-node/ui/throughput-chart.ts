/** The write-throughput line chart (committed entries per second over recent samples). */

import type { ThroughputPoint } from '../src/dashboard/cluster-view.js';
import { setText, svgElement } from './dom.js';
import { formatRate } from './format.js';

const WIDTH = 600;
const HEIGHT = 120;
const TOP_MARGIN = 8;

/** Redraws the chart in `svg` from `history` (oldest first) and its scale in `caption`. */
export function renderThroughputChart(
  svg: SVGSVGElement,
  caption: HTMLElement,
  history: readonly ThroughputPoint[],
): void {
  const peak = Math.max(1, ...history.map((point) => point.entriesPerSecond));
  const step = history.length > 1 ? WIDTH / (history.length - 1) : WIDTH;
  const points = history
    .map((point, index) => {
      const y = HEIGHT - (point.entriesPerSecond / peak) * (HEIGHT - TOP_MARGIN);
      return `${(index * step).toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  const line = svgElement('polyline', { points, class: 'throughput-line' });
  svg.replaceChildren(line);
  // The scale is HTML, not SVG text: the chart stretches to the page width and would distort it.
  setText(
    caption,
    `scale: 0 to ${formatRate(peak)} committed entries/s, last ${history.length} samples`,
  );
}
