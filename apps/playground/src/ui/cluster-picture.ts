import type { ClusterView, MemberView } from '../playground-run.js';
import { setText, svgElement } from './dom.js';

const SIZE = 360;
const RADIUS = 130;
const NODE_RADIUS = 34;

/** Where member `position` of `count` sits on the circle. */
function placeOf(position: number, count: number): { x: number; y: number } {
  const angle = -Math.PI / 2 + (2 * Math.PI * position) / count;
  return { x: SIZE / 2 + RADIUS * Math.cos(angle), y: SIZE / 2 + RADIUS * Math.sin(angle) };
}

function describeMember(member: MemberView): string {
  if (member.process === 'crashed') return 'crashed';
  if (member.role === undefined) return member.process;
  const state = member.process === 'paused' ? 'paused ' : '';
  return `${state}${member.role}, generation ${member.generation ?? '?'}`;
}

/**
 * The cluster as an SVG picture: members on a circle (coloured by role, dimmed when crashed,
 * hatched when paused), cut links dashed, and messages in flight as dots moving from sender to
 * receiver. The same facts are on the page as text; the picture is labelled with a summary.
 */
export class ClusterPicture {
  /** The `<svg>` element to put on the page. */
  readonly element: SVGSVGElement;
  private readonly title: SVGTitleElement;
  private readonly links: SVGGElement;
  private readonly messages: SVGGElement;
  private readonly members: SVGGElement;
  private names: readonly string[] = [];

  constructor() {
    this.title = svgElement('title', { id: 'pg-picture-title' });
    this.links = svgElement('g', { class: 'pg-links' });
    this.messages = svgElement('g', { class: 'pg-messages' });
    this.members = svgElement('g', { class: 'pg-member-dots' });
    this.element = svgElement(
      'svg',
      {
        viewBox: `0 0 ${SIZE} ${SIZE}`,
        role: 'img',
        'aria-labelledby': 'pg-picture-title',
        class: 'pg-picture',
      },
      this.title,
      this.links,
      this.messages,
      this.members,
    );
  }

  /** Redraws the picture for `view`. */
  render(view: ClusterView): void {
    const names = view.members.map((member) => member.name);
    const places = new Map(names.map((name, position) => [name, placeOf(position, names.length)]));
    if (names.join() !== this.names.join()) this.names = names;
    setText(
      this.title,
      `Cluster at ${Math.round(view.nowMs)} ms: ${view.members.map((member) => `${member.name} ${describeMember(member)}`).join('; ')}; ${view.messages.length} messages in flight.`,
    );
    const cut = new Set(view.cutLinks.map(([a, b]) => `${a}|${b}`));
    const linkLines: SVGElement[] = [];
    for (const [position, a] of names.entries()) {
      for (const b of names.slice(position + 1)) {
        const from = places.get(a)!;
        const to = places.get(b)!;
        linkLines.push(
          svgElement('line', {
            x1: from.x,
            y1: from.y,
            x2: to.x,
            y2: to.y,
            class: cut.has(`${a}|${b}`) ? 'pg-link pg-link-cut' : 'pg-link',
          }),
        );
      }
    }
    this.links.replaceChildren(...linkLines);
    this.messages.replaceChildren(
      ...view.messages.map((message) => {
        const from = places.get(message.from)!;
        const to = places.get(message.to)!;
        const x = from.x + (to.x - from.x) * message.progress;
        const y = from.y + (to.y - from.y) * message.progress;
        return svgElement(
          'circle',
          {
            cx: x,
            cy: y,
            r: message.kind === 'heartbeat' || message.kind === 'heartbeat-response' ? 4 : 6,
            class: `pg-message pg-message-${message.kind}`,
          },
          svgElement('title', {}, `${message.from} → ${message.to}: ${message.summary}`),
        );
      }),
    );
    this.members.replaceChildren(
      ...view.members.map((member) => {
        const place = places.get(member.name)!;
        const isLeader = view.leader?.name === member.name;
        return svgElement(
          'g',
          {
            class: `pg-dot pg-role-${member.role ?? 'none'} pg-process-${member.process}${isLeader ? ' pg-current-leader' : ''}`,
            transform: `translate(${place.x} ${place.y})`,
          },
          svgElement('circle', { r: NODE_RADIUS }),
          svgElement('text', { y: -6, 'text-anchor': 'middle', class: 'pg-dot-name' }, member.name),
          svgElement(
            'text',
            { y: 10, 'text-anchor': 'middle', class: 'pg-dot-role' },
            member.process === 'crashed' ? 'crashed' : (member.role ?? member.process),
          ),
          svgElement(
            'text',
            { y: 24, 'text-anchor': 'middle', class: 'pg-dot-generation' },
            member.generation === undefined ? '' : `gen ${member.generation}`,
          ),
        );
      }),
    );
  }
}
