import { HistoryError } from './history-error.js';
import type { HistoryEvent } from './history.js';
import { checkEventShape } from './operation.js';
import { checkParsedHistory, nonBlankLines } from './parsed-lines.js';

const fields = new Set(['process', 'type', 'op', 'key', 'value', 'time']);

/**
 * Parses the package's history format: one JSON object per line, e.g.
 * `{"process":0,"type":"invoke","op":"write","key":"x","value":3,"time":12.5}`. Blank lines are
 * skipped; unknown fields are errors (they are usually typos).
 *
 * @throws HistoryError naming the line of the first malformed event, or of an event that does not
 *   pair up (a completion with nothing pending, a second invoke while one is pending).
 */
export function parseJsonLines(text: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  const lines: number[] = [];
  for (const { text: source, line } of nonBlankLines(text)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(source);
    } catch (error) {
      throw new HistoryError(`not JSON: ${(error as Error).message}`, { line });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new HistoryError('expected a JSON object', { line });
    }
    for (const field of Object.keys(parsed)) {
      if (!fields.has(field)) throw new HistoryError(`unknown field "${field}"`, { line });
    }
    const event = parsed as HistoryEvent;
    try {
      checkEventShape(event, events.length);
    } catch (error) {
      const message = (error as Error).message.replace(/^event \d+: /, '');
      throw new HistoryError(message, { line, eventIndex: events.length });
    }
    events.push(event);
    lines.push(line);
  }
  checkParsedHistory(events, lines);
  return events;
}

/** Formats events in the format {@link parseJsonLines} reads, one line each, ending with a newline. */
export function formatJsonLines(events: readonly HistoryEvent[]): string {
  return events.map((event) => JSON.stringify(event) + '\n').join('');
}
