import type { ClusterView } from './playground-run.js';

/**
 * Every member's log at one instant as an SVG picture (no DOM needed): one row per member, a box
 * per entry with its index, generation and command, solid up to the member's high-water mark and
 * dashed beyond it, a grey box for what a snapshot covers (up to the low-water mark), and the two
 * marks named.
 */

const CELL_WIDTH = 74;
const ROW_HEIGHT = 64;
const NAME_WIDTH = 110;

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** The picture, with a title and a description for readers who cannot see it. */
export function renderLogStrips(view: ClusterView, title: string, description: string): string {
  const longest = Math.max(
    1,
    ...view.members.map((member) => member.log.length + ((member.lowWaterMark ?? 0) > 0 ? 1 : 0)),
  );
  // Room on the right for the last mark's label.
  const width = NAME_WIDTH + longest * CELL_WIDTH + 70;
  const height = 30 + view.members.length * ROW_HEIGHT;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="title desc" font-family="sans-serif" font-size="11">`,
    `<title id="title">${escapeXml(title)}</title>`,
    `<desc id="desc">${escapeXml(description)}</desc>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
  ];
  for (const [row, member] of view.members.entries()) {
    const top = 20 + row * ROW_HEIGHT;
    const role =
      member.process === 'crashed'
        ? 'crashed'
        : `${member.role ?? member.process}, g${member.generation ?? '?'}`;
    parts.push(
      `<text x="8" y="${top + 18}" font-size="13" font-weight="bold">${escapeXml(member.name)}</text>`,
      `<text x="8" y="${top + 34}" fill="#555">${escapeXml(role)}</text>`,
    );
    let x = NAME_WIDTH;
    if ((member.lowWaterMark ?? 0) > 0) {
      parts.push(
        `<rect x="${x}" y="${top}" width="${CELL_WIDTH - 6}" height="30" fill="#ddd" stroke="#888"/>`,
        `<text x="${x + 6}" y="${top + 19}">snapshot ≤${member.lowWaterMark}</text>`,
      );
      x += CELL_WIDTH;
    }
    for (const cell of member.log) {
      const colour = cell.committed ? '#2f7d32' : '#b26a00';
      parts.push(
        `<rect x="${x}" y="${top}" width="${CELL_WIDTH - 6}" height="30" fill="none" stroke="${colour}" stroke-width="1.5"${cell.committed ? '' : ' stroke-dasharray="4 3"'}/>`,
        `<text x="${x + 5}" y="${top + 13}" fill="${colour}" font-weight="bold">${cell.index}${cell.generation === undefined ? '' : ` g${cell.generation}`}</text>`,
        `<text x="${x + 5}" y="${top + 26}">${escapeXml(cell.text)}</text>`,
      );
      if (cell.index === member.highWaterMark) {
        parts.push(
          `<line x1="${x + CELL_WIDTH - 3}" y1="${top - 4}" x2="${x + CELL_WIDTH - 3}" y2="${top + 36}" stroke="#2f7d32" stroke-width="3"/>`,
          `<text x="${x + CELL_WIDTH - 3}" y="${top + 48}" text-anchor="middle" fill="#2f7d32">high-water mark ${cell.index}</text>`,
        );
      }
      x += CELL_WIDTH;
    }
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
