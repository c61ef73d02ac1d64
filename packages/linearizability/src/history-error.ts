/**
 * A history that cannot be read or makes no sense (a syntax error, an unknown operation, a process
 * completing an operation it never invoked). `line` is 1-based when the history came from text.
 */
export class HistoryError extends Error {
  override readonly name = 'HistoryError';
  /** 1-based line of the offending event in the source text, when known. */
  readonly line: number | undefined;
  /** 0-based index of the offending event in the history, when known. */
  readonly eventIndex: number | undefined;

  constructor(message: string, location: { line?: number; eventIndex?: number } = {}) {
    super(location.line === undefined ? message : `line ${location.line}: ${message}`);
    this.line = location.line;
    this.eventIndex = location.eventIndex;
  }
}
