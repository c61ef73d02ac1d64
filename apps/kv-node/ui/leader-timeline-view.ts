/** The leader timeline: a colored strip of who led when, and the list of changes. */

import type { ClusterView, LeaderChange } from '../src/dashboard/cluster-view.js';
import { element, svgElement } from './dom.js';
import { colorForNode, formatTimeOfDay } from './format.js';

const STRIP_WIDTH = 600;
const STRIP_HEIGHT = 40;
/** The strip shows at most this much recent history, ms. */
const STRIP_SPAN_MS = 5 * 60_000;

function describe(change: LeaderChange): string {
  const generation = change.generation === null ? '' : ` (generation ${change.generation})`;
  return change.leader === null ? `no leader${generation}` : `${change.leader} leads${generation}`;
}

/** Draws the strip into `strip` and the list of changes (newest first) into `list`. */
export function renderLeaderTimeline(
  strip: SVGSVGElement,
  list: HTMLOListElement,
  view: ClusterView,
): void {
  const changes = view.leaderChanges;
  const end = view.sampledAtMs;
  const start = Math.max(changes[0]?.atMs ?? end, end - STRIP_SPAN_MS);
  const span = Math.max(1, end - start);
  const x = (atMs: number): number => ((Math.max(atMs, start) - start) / span) * STRIP_WIDTH;
  const segments: SVGElement[] = [];
  changes.forEach((change, index) => {
    const until = changes[index + 1]?.atMs ?? end;
    if (until < start) return;
    const rect = svgElement('rect', {
      x: x(change.atMs),
      y: 0,
      width: Math.max(1, x(until) - x(change.atMs)),
      height: STRIP_HEIGHT,
      fill: colorForNode(change.leader),
    });
    const title = svgElement('title');
    title.textContent = `${formatTimeOfDay(change.atMs)} ${describe(change)}`;
    rect.append(title);
    segments.push(rect);
  });
  strip.replaceChildren(...segments);

  if (
    list.childElementCount === changes.length &&
    list.dataset['last'] === String(changes.at(-1)?.atMs)
  ) {
    return;
  }
  list.dataset['last'] = String(changes.at(-1)?.atMs);
  const items = changes
    .slice()
    .reverse()
    .map((change) => {
      const item = element('li', { 'data-leader': change.leader ?? '' });
      const swatch = element('span', { class: 'swatch' });
      swatch.style.backgroundColor = colorForNode(change.leader);
      item.append(
        swatch,
        element('time', {}, formatTimeOfDay(change.atMs)),
        element('span', {}, ` ${describe(change)}`),
      );
      return item;
    });
  list.replaceChildren(...items);
}
