import type { Model } from './model.js';
import type { Operation } from './operation.js';

/** What {@link renderTimeline} draws. */
export interface TimelineInput {
  readonly key: string;
  /** The key's operations, in invoke order. */
  readonly operations: readonly Operation[];
  readonly failing: Operation;
  readonly prefix: readonly Operation[];
  readonly stateAfterPrefix: string;
  readonly model: Model<unknown>;
}

const maxRows = 24;
const lastPlacedShown = 6;
const barWidth = 48;
const maxTextLength = 160;

// Key-value states grow with every append; a timeline line stays readable when long text is cut.
function shorten(text: string): string {
  return text.length <= maxTextLength ? text : `${text.slice(0, maxTextLength - 1)}…`;
}

/**
 * The operations around a failure as text: the failing operation, the operations concurrent with
 * it and the last ones placed, each with its span in history events drawn as a bar.
 */
export function renderTimeline(input: TimelineInput): string {
  const { failing, prefix, model } = input;
  const placedAt = new Map<number, number>();
  prefix.forEach((operation, order) => placedAt.set(operation.id, order + 1));
  const overlapsFailing = (operation: Operation) =>
    operation.invokeIndex < failing.completeIndex && operation.completeIndex > failing.invokeIndex;
  const chosen = new Set<Operation>(prefix.slice(-lastPlacedShown));
  for (const operation of input.operations) if (overlapsFailing(operation)) chosen.add(operation);
  chosen.add(failing);
  let rows = [...chosen].sort((a, b) => a.invokeIndex - b.invokeIndex);
  if (rows.length > maxRows) {
    // Keep the rows nearest the failing one.
    const at = rows.indexOf(failing);
    const start = Math.max(0, Math.min(at - maxRows / 2, rows.length - maxRows));
    rows = rows.slice(start, start + maxRows);
  }

  const finiteEnds = rows.map((row) => row.completeIndex).filter(Number.isFinite);
  const first = Math.min(...rows.map((row) => row.invokeIndex));
  const last = Math.max(first + 1, ...finiteEnds, ...rows.map((row) => row.invokeIndex + 1));
  // Up to 4 columns per event keeps short windows legible; long ones shrink to fit.
  const scale = Math.min(4, (barWidth - 1) / (last - first));
  const column = (index: number) => Math.round((Math.min(index, last) - first) * scale);
  const bar = (operation: Operation) => {
    const start = column(operation.invokeIndex);
    const end = Math.max(start + 1, column(operation.completeIndex));
    const open = !Number.isFinite(operation.completeIndex);
    const body = '|' + '-'.repeat(Math.max(0, end - start - 1)) + (open ? '>' : '|');
    return (' '.repeat(start) + body).padEnd(barWidth + 1);
  };
  const span = (operation: Operation) => {
    const end = Number.isFinite(operation.completeIndex) ? String(operation.completeIndex) : '…';
    return `${operation.invokeIndex}..${end}`.padEnd(13);
  };

  const lines = [
    `key ${JSON.stringify(input.key)}: not linearizable (${input.model.name} model)`,
    `The search got furthest after placing ${prefix.length} operation(s) in a legal order, reaching state ${shorten(input.stateAfterPrefix)};`,
    `then no order let the operation marked ! take effect before it returned.`,
    `Spans are event numbers in the history (0-based, … = never completed); # = place in that order.`,
    '',
    `  ${'process'.padEnd(9)}${'events'.padEnd(13)}${'timeline'.padEnd(barWidth + 2)}operation`,
  ];
  for (const operation of rows) {
    const mark = operation === failing ? '!' : ' ';
    const placed = placedAt.get(operation.id);
    const note =
      operation === failing
        ? '  ← cannot be linearized'
        : placed === undefined
          ? ''
          : `  #${placed}`;
    lines.push(
      `${mark} ${String(operation.process).padEnd(9)}${span(operation)}${bar(operation)} ${shorten(model.describeOperation(operation))}${note}`,
    );
  }
  return lines.join('\n');
}
