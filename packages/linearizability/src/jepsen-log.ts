import { HistoryError } from './history-error.js';
import type { EventType, HistoryEvent, HistoryValue, OperationName, Scalar } from './history.js';
import { checkParsedHistory, nonBlankLines } from './parsed-lines.js';

const eventLine = /jepsen\.util\s+-\s+(\S+)\s+:(\w+)\s+:(\w+)\s*(.*)$/;
const types: ReadonlySet<string> = new Set(['invoke', 'ok', 'fail', 'info']);
const operations: ReadonlySet<string> = new Set(['read', 'write', 'cas']);

function parseScalar(text: string, line: number): Scalar {
  if (text === 'nil') return null;
  const number = Number(text);
  if (Number.isFinite(number)) return number;
  throw new HistoryError(`cannot read the value ${JSON.stringify(text)}`, { line });
}

function parseValue(text: string, line: number): HistoryValue | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith(':')) return undefined; // e.g. :timed-out
  const pair = /^\[\s*(\S+)\s+(\S+)\s*\]$/.exec(trimmed);
  if (pair !== null) {
    return [parseScalar(pair[1]!, line), parseScalar(pair[2]!, line)] as const;
  }
  return parseScalar(trimmed, line);
}

/**
 * Parses a Jepsen log of a compare-and-set register, as in the jepsen-etcd corpus:
 * `INFO  jepsen.util - 3 :invoke :cas [1 4]`. Lines of other loggers and of the nemesis are
 * skipped. Values are integers, `nil` or `[from to]`; a keyword value (`:timed-out`) is dropped.
 *
 * @throws HistoryError naming the line of a malformed event line or one that does not pair up.
 */
export function parseJepsenLog(text: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  const lines: number[] = [];
  for (const { text: source, line } of nonBlankLines(text)) {
    if (!source.includes('jepsen.util')) continue;
    const match = eventLine.exec(source);
    if (match === null) throw new HistoryError(`not a Jepsen event line: ${source}`, { line });
    const [, processText, type, op, valueText] = match;
    if (processText!.startsWith(':')) continue; // :nemesis and other non-client processes
    const process = Number(processText);
    if (!Number.isInteger(process)) {
      throw new HistoryError(`process ${JSON.stringify(processText)} is not an integer`, { line });
    }
    if (!types.has(type!)) throw new HistoryError(`unknown type :${type}`, { line });
    if (!operations.has(op!)) throw new HistoryError(`unknown operation :${op}`, { line });
    const value = parseValue(valueText!, line);
    events.push({
      process,
      type: type as EventType,
      op: op as OperationName,
      ...(value === undefined ? {} : { value }),
    });
    lines.push(line);
  }
  checkParsedHistory(events, lines);
  return events;
}
