/**
 * A sequence diagram of a recorded run as SVG text (no DOM needed, so the docs build can write it):
 * one lifeline per member, time flowing down, an arrow per delivered message from its sending to
 * its arrival time, and the run's explained transitions as notes. The time axis is compressed:
 * quiet stretches shrink to a fixed gap, so a diagram covers seconds of a run in one screen.
 */

/** A message drawn as an arrow. */
export interface DiagramArrow {
  readonly from: string;
  readonly to: string;
  readonly sentAtMs: number;
  readonly arrivedAtMs: number;
  /** Short text on the arrow: `vote? g2`, `append 1 g2`. */
  readonly label: string;
  /** The message kind (a CSS class, for colour). */
  readonly kind: string;
}

/** A transition or fault drawn as a note at its time, on a member's lifeline if it has one. */
export interface DiagramNote {
  readonly atMs: number;
  readonly member: string | undefined;
  readonly text: string;
  /** `fault`, `leader`, `commit`, ... (a CSS class). */
  readonly kind: string;
}

/** Everything one diagram shows. */
export interface DiagramRecording {
  readonly title: string;
  /** A sentence for readers who cannot see the picture. */
  readonly description: string;
  readonly members: readonly string[];
  readonly arrows: readonly DiagramArrow[];
  readonly notes: readonly DiagramNote[];
  /**
   * How a note's time is printed (default `120 ms`); a recording that counts steps of a run rather
   * than virtual milliseconds says so here.
   */
  readonly timeLabel?: (atMs: number) => string;
}

const NOTES_WIDTH = 300;
const COLUMN_WIDTH = 150;
const TOP = 60;
const MIN_GAP = 16;
const MAX_GAP = 44;
const PIXELS_PER_MS = 0.6;

function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/**
 * Maps virtual times to heights: consecutive moments at least {@link MIN_GAP} apart, at most
 * {@link MAX_GAP}, proportional in between.
 */
function timeAxis(times: readonly number[]): (ms: number) => number {
  const sorted = [...new Set(times)].sort((a, b) => a - b);
  const heights = new Map<number, number>();
  let y = TOP + 20;
  for (const [position, time] of sorted.entries()) {
    if (position > 0) {
      const gap = (time - sorted[position - 1]!) * PIXELS_PER_MS;
      y += Math.min(MAX_GAP, Math.max(gap < 0.5 ? 0 : MIN_GAP, gap));
    }
    heights.set(time, y);
  }
  return (ms) => heights.get(ms) ?? TOP + 20;
}

/** The diagram as a standalone SVG document. */
export function renderSequenceDiagram(recording: DiagramRecording): string {
  const axis = timeAxis([
    ...recording.arrows.flatMap((arrow) => [arrow.sentAtMs, arrow.arrivedAtMs]),
    ...recording.notes.map((note) => note.atMs),
  ]);
  const columnOf = new Map(
    recording.members.map((name, position) => [
      name,
      NOTES_WIDTH + COLUMN_WIDTH / 2 + position * COLUMN_WIDTH,
    ]),
  );
  const allY = [
    ...recording.arrows.map((arrow) => axis(arrow.arrivedAtMs)),
    ...recording.notes.map((note) => axis(note.atMs)),
  ];
  // Notes a moment apart would overlap: each goes at least a line below the one before.
  const noteY: number[] = [];
  for (const note of recording.notes) {
    noteY.push(Math.max(axis(note.atMs), (noteY.at(-1) ?? -Infinity) + 14));
  }
  const bottom = Math.max(TOP + 40, ...allY, ...noteY) + 30;
  const width = NOTES_WIDTH + COLUMN_WIDTH * recording.members.length;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${bottom}" width="${width}" height="${bottom}" role="img" aria-labelledby="title desc" font-family="sans-serif" font-size="11">`,
    `<title id="title">${escapeXml(recording.title)}</title>`,
    `<desc id="desc">${escapeXml(recording.description)}</desc>`,
    '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>',
    `<rect width="${width}" height="${bottom}" fill="#fff"/>`,
  ];
  for (const [name, x] of columnOf) {
    parts.push(
      `<text x="${x}" y="${TOP - 22}" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(name)}</text>`,
      `<line x1="${x}" y1="${TOP - 12}" x2="${x}" y2="${bottom - 10}" stroke="#999" stroke-dasharray="4 3"/>`,
    );
  }
  const colours: Record<string, string> = {
    'vote-request': '#b26a00',
    'vote-response': '#b26a00',
    append: '#2f7d32',
    'append-response': '#2f7d32',
    'snapshot-chunk': '#6a1b9a',
    'snapshot-response': '#6a1b9a',
    heartbeat: '#3b5b92',
    'heartbeat-response': '#3b5b92',
    request: '#333',
    reply: '#333',
    replicate: '#2f7d32',
    repair: '#6a1b9a',
    disk: '#3b5b92',
    lost: '#c62828',
  };
  for (const arrow of recording.arrows) {
    const x1 = columnOf.get(arrow.from);
    const x2 = columnOf.get(arrow.to);
    if (x1 === undefined || x2 === undefined) continue;
    const y1 = axis(arrow.sentAtMs);
    const y2 = axis(arrow.arrivedAtMs);
    const colour = colours[arrow.kind] ?? '#555';
    parts.push(
      `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${colour}" stroke-width="1.4" marker-end="url(#head)"><title>${escapeXml(`${arrow.from} → ${arrow.to}: ${arrow.label}`)}</title></line>`,
      `<text x="${x1 + (x2 - x1) * 0.3}" y="${y1 + (y2 - y1) * 0.3 - 3}" text-anchor="middle" fill="${colour}">${escapeXml(arrow.label)}</text>`,
    );
  }
  const noteColours: Record<string, string> = {
    fault: '#c62828',
    leader: '#2f7d32',
    commit: '#2f7d32',
    stale: '#c62828',
    'step-down': '#c62828',
    election: '#b26a00',
    snapshot: '#6a1b9a',
    client: '#333',
    decision: '#3b5b92',
  };
  const timeLabel = recording.timeLabel ?? ((atMs: number) => `${Math.round(atMs)} ms`);
  for (const [position, note] of recording.notes.entries()) {
    const y = noteY[position]!;
    const colour = noteColours[note.kind] ?? '#333';
    const x = note.member === undefined ? undefined : columnOf.get(note.member);
    if (x !== undefined) {
      parts.push(
        `<circle cx="${x}" cy="${y}" r="5" fill="${colour}"/>`,
        `<line x1="${NOTES_WIDTH - 8}" y1="${y}" x2="${x - 6}" y2="${y}" stroke="${colour}" stroke-opacity="0.25"/>`,
      );
    }
    parts.push(
      `<text x="8" y="${y + 4}" fill="${colour}"><tspan font-weight="bold">${escapeXml(timeLabel(note.atMs))}</tspan> ${escapeXml(note.text)}</text>`,
    );
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
