import {
  renderSequenceDiagram,
  type DiagramArrow,
  type DiagramNote,
  type DiagramRecording,
} from '../sequence-diagram.js';

/**
 * Collects the arrows and notes of a guide picture whose story is a script (who sends what when)
 * while the values on the arrows and the decisions in the notes come from running the real
 * package code. Drawn with the same renderer as the playground scenarios' diagrams.
 */
export class ScriptedRecording {
  private readonly arrows: DiagramArrow[] = [];
  private readonly notes: DiagramNote[] = [];

  /** @param members the lifelines, left to right */
  constructor(private readonly members: readonly string[]) {}

  /** A message from `from` to `to`, sent at `sentAtMs` and arriving at `arrivedAtMs`. */
  message(
    from: string,
    to: string,
    sentAtMs: number,
    arrivedAtMs: number,
    label: string,
    kind = 'request',
  ): void {
    for (const member of [from, to]) this.requireMember(member);
    this.arrows.push({ from, to, sentAtMs, arrivedAtMs, label, kind });
  }

  /** A note at `atMs`, on `member`'s lifeline (or none), coloured by `kind`. */
  note(atMs: number, member: string | undefined, text: string, kind = 'decision'): void {
    if (member !== undefined) this.requireMember(member);
    // The notes column is narrow; a longer note would run into the first lifeline.
    if (text.length > 46) throw new Error(`note too long for the picture: ${text}`);
    this.notes.push({ atMs, member, text, kind });
  }

  /** The picture as SVG text. */
  render(title: string, description: string, timeLabel?: DiagramRecording['timeLabel']): string {
    const notes = [...this.notes].sort((a, b) => a.atMs - b.atMs);
    return renderSequenceDiagram({
      title,
      description,
      members: this.members,
      arrows: this.arrows,
      notes,
      ...(timeLabel === undefined ? {} : { timeLabel }),
    });
  }

  private requireMember(member: string): void {
    if (!this.members.includes(member)) throw new Error(`no lifeline named ${member}`);
  }
}
