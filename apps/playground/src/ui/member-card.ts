import type { PlaygroundAction } from '../fault-script.js';
import type { MemberView } from '../playground-run.js';
import { button, element, setText } from './dom.js';

/** One member's panel: its state as text, its log strip with the marks, and its fault buttons. */
export class MemberCard {
  /** The `<article>` to put on the page. */
  readonly element: HTMLElement;
  private readonly summary: HTMLParagraphElement;
  private readonly marks: HTMLParagraphElement;
  private readonly log: HTMLOListElement;
  private readonly values: HTMLParagraphElement;
  private readonly crashButton: HTMLButtonElement;
  private readonly pauseButton: HTMLButtonElement;
  private process: MemberView['process'] = 'starting';

  constructor(
    readonly name: string,
    perform: (action: PlaygroundAction) => void,
  ) {
    this.summary = element('p', { class: 'pg-summary', 'data-field': 'summary' });
    this.marks = element('p', { class: 'pg-marks', 'data-field': 'marks' });
    this.log = element('ol', { class: 'pg-log', 'aria-label': `${name}'s log` });
    this.values = element('p', { class: 'pg-values', 'data-field': 'values' });
    this.crashButton = button(
      'Crash',
      () => perform({ kind: this.process === 'crashed' ? 'restart' : 'crash', member: name }),
      { 'data-action': 'crash', 'data-member': name },
    );
    this.pauseButton = button(
      'Pause',
      () => perform({ kind: this.process === 'paused' ? 'resume' : 'pause', member: name }),
      { 'data-action': 'pause', 'data-member': name },
    );
    const isolateButton = button('Isolate', () => perform({ kind: 'isolate', member: name }), {
      'data-action': 'isolate',
      'data-member': name,
    });
    const skewButton = button(
      'Clock +1.5 s',
      () => perform({ kind: 'skew', member: name, ms: 1_500 }),
      { 'data-action': 'skew', 'data-member': name },
    );
    this.element = element(
      'article',
      { class: 'pg-member', 'data-member': name, 'aria-label': name },
      element('h3', {}, name),
      this.summary,
      this.marks,
      this.log,
      this.values,
      element(
        'div',
        { class: 'pg-member-buttons' },
        this.crashButton,
        this.pauseButton,
        isolateButton,
        skewButton,
      ),
    );
  }

  /** Shows `member`'s state; `isLeader` marks the leader of the highest generation. */
  render(member: MemberView, isLeader: boolean): void {
    this.process = member.process;
    this.element.dataset['role'] = member.role ?? 'none';
    this.element.dataset['process'] = member.process;
    this.element.classList.toggle('pg-is-leader', isLeader);
    let summary: string;
    if (member.process === 'crashed') summary = 'crashed: its memory is gone, its disk remains';
    else if (member.role === undefined) summary = member.process;
    else {
      const paused = member.process === 'paused' ? 'paused, ' : '';
      const vote = member.votedFor === undefined ? 'no vote' : `voted for ${member.votedFor}`;
      const leader =
        member.leaderId === undefined ? 'knows no leader' : `leader: ${member.leaderId}`;
      summary = `${paused}${member.role}, generation ${member.generation}, ${vote}, ${leader}`;
    }
    setText(this.summary, summary);
    setText(
      this.marks,
      member.lastIndex === undefined
        ? ''
        : `last index ${member.lastIndex} · high-water mark ${member.highWaterMark} · low-water mark ${member.lowWaterMark} · applied ${member.appliedIndex}`,
    );
    const cells: HTMLLIElement[] = [];
    if ((member.lowWaterMark ?? 0) > 0) {
      cells.push(
        element('li', { class: 'pg-cell pg-cell-snapshot' }, `snapshot ≤ ${member.lowWaterMark}`),
      );
    }
    for (const cell of member.log) {
      const classes = ['pg-cell', cell.committed ? 'pg-cell-committed' : 'pg-cell-uncommitted'];
      if (cell.index === member.highWaterMark) classes.push('pg-cell-hwm');
      const generation = cell.generation === undefined ? '' : ` g${cell.generation}`;
      cells.push(
        element(
          'li',
          { class: classes.join(' '), title: cell.committed ? 'committed' : 'not committed' },
          `${cell.index}${generation} ${cell.text}`,
        ),
      );
    }
    const signature = cells.map((cell) => `${cell.className}:${cell.textContent}`).join('|');
    if (this.log.dataset['signature'] !== signature) {
      this.log.dataset['signature'] = signature;
      this.log.replaceChildren(...cells);
    }
    setText(
      this.values,
      member.process === 'crashed'
        ? ''
        : `applied values: ${member.values.map(([key, value]) => `${key}=${value}`).join(', ') || 'none'}`,
    );
    setText(this.crashButton, member.process === 'crashed' ? 'Restart' : 'Crash');
    setText(this.pauseButton, member.process === 'paused' ? 'Resume' : 'Pause');
    this.pauseButton.disabled = member.process === 'crashed';
  }
}
