import { HistoryError } from './history-error.js';
import type { HistoryEvent } from './history.js';
import { toOperations } from './operation.js';

/**
 * Checks that parsed events pair up, reporting a problem at its source line.
 * @param lines the 1-based source line of each event.
 * @throws HistoryError with the line of the offending event.
 */
export function checkParsedHistory(
  events: readonly HistoryEvent[],
  lines: readonly number[],
): void {
  try {
    toOperations(events);
  } catch (error) {
    if (error instanceof HistoryError && error.eventIndex !== undefined) {
      const message = error.message
        .replace(/^event \d+: /, '')
        .replace(/\(event (\d+)\)/g, (_, index: string) => `(line ${lines[Number(index)]})`);
      throw new HistoryError(message, {
        eventIndex: error.eventIndex,
        ...(lines[error.eventIndex] === undefined ? {} : { line: lines[error.eventIndex] }),
      });
    }
    throw error;
  }
}

/** Splits text into lines with their 1-based numbers, skipping blank ones. */
export function nonBlankLines(text: string): { text: string; line: number }[] {
  const result: { text: string; line: number }[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() !== '') result.push({ text: line, line: index + 1 });
  });
  return result;
}
