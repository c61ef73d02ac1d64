/** How numbers and times read on the page. Pure functions (tested in test/dashboard-ui-format.test.ts). */

import type { QuorumMemberView } from '../src/dashboard/cluster-view.js';

/** A quorum-mode member's replica: `1,204 keys · 3 tombstones · state 9f2c41aa07de`. */
export function formatQuorumReplica(replica: QuorumMemberView): string {
  const backlog =
    replica.repairBacklog === null ? '' : ` · repair backlog ${formatCount(replica.repairBacklog)}`;
  return `${formatCount(replica.keys)} keys · ${formatCount(replica.tombstones)} tombstones · state ${replica.stateHash}${backlog}`;
}

/** An index or count, or `-` when unknown. */
export function formatCount(value: number | null): string {
  return value === null ? '-' : value.toLocaleString('en-US');
}

/** A heartbeat age: `-`, `85 ms`, `1.2 s`, `3 min`. */
export function formatAge(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** A rate in entries per second, with one decimal below 10. */
export function formatRate(perSecond: number): string {
  if (perSecond < 10) return perSecond.toFixed(1);
  return Math.round(perSecond).toLocaleString('en-US');
}

/** A wall-clock time of day, `HH:MM:SS` in the viewer's time zone. */
export function formatTimeOfDay(atMs: number): string {
  const time = new Date(atMs);
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}`;
}

/** A stable color for a node name (so a leader keeps its color on the timeline). */
export function colorForNode(name: string | null): string {
  if (name === null) return '#c9ced6';
  const palette = ['#2f7ed8', '#e07b39', '#3aa35c', '#a05cc7', '#d14b6a', '#1f9fa8', '#8c7a2b'];
  const digits = /(\d+)$/.exec(name);
  let index: number;
  if (digits !== null) {
    index = Number(digits[1]) - 1;
  } else {
    index = 0;
    for (const character of name) index = (index * 31 + character.charCodeAt(0)) >>> 0;
  }
  return palette[((index % palette.length) + palette.length) % palette.length] ?? '#2f7ed8';
}
