import { HistoryError } from './history-error.js';
import type { HistoryEvent, HistoryValue, Scalar } from './history.js';
import { checkEventShape } from './operation.js';
import { checkParsedHistory, nonBlankLines } from './parsed-lines.js';

/** The EDN values a history line uses. Keywords keep their colon: `:ok`. */
type Edn = string | number | boolean | null | { keyword: string } | Edn[] | Map<string, Edn>;

class EdnReader {
  private at = 0;
  constructor(
    private readonly text: string,
    private readonly line: number,
  ) {}

  fail(message: string): never {
    throw new HistoryError(`${message} at column ${this.at + 1}`, { line: this.line });
  }

  private skipSpace(): void {
    while (this.at < this.text.length && /[\s,]/.test(this.text[this.at]!)) this.at++;
  }

  readAll(): Edn {
    const value = this.read();
    this.skipSpace();
    if (this.at < this.text.length) this.fail('unexpected text after the value');
    return value;
  }

  read(): Edn {
    this.skipSpace();
    const char = this.text[this.at];
    if (char === undefined) return this.fail('unexpected end of line');
    if (char === '{') return this.readMap();
    if (char === '[' || char === '(') return this.readSequence(char === '[' ? ']' : ')');
    if (char === '"') return this.readString();
    const token = /^[^\s,{}[\]()"]+/.exec(this.text.slice(this.at))?.[0];
    if (token === undefined) return this.fail(`unexpected ${JSON.stringify(char)}`);
    this.at += token.length;
    if (token === 'nil') return null;
    if (token === 'true' || token === 'false') return token === 'true';
    if (token.startsWith(':')) return { keyword: token.slice(1) };
    const number = Number(token);
    if (Number.isFinite(number)) return number;
    return this.fail(`cannot read ${JSON.stringify(token)}`);
  }

  private readString(): string {
    let result = '';
    this.at++;
    for (;;) {
      const char = this.text[this.at++];
      if (char === undefined) this.fail('unterminated string');
      if (char === '"') return result;
      if (char === '\\') {
        const escaped = this.text[this.at++];
        const table: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
        const replacement = escaped === undefined ? undefined : table[escaped];
        if (replacement === undefined) this.fail('unknown escape in string');
        result += replacement;
      } else {
        result += char;
      }
    }
  }

  private readSequence(close: string): Edn[] {
    const items: Edn[] = [];
    this.at++;
    for (;;) {
      this.skipSpace();
      if (this.text[this.at] === close) {
        this.at++;
        return items;
      }
      items.push(this.read());
    }
  }

  private readMap(): Map<string, Edn> {
    const map = new Map<string, Edn>();
    this.at++;
    for (;;) {
      this.skipSpace();
      if (this.text[this.at] === '}') {
        this.at++;
        return map;
      }
      const key = this.read();
      if (typeof key !== 'object' || key === null || !('keyword' in key)) {
        this.fail('map keys must be keywords');
      }
      map.set(key.keyword, this.read());
    }
  }
}

function toScalar(value: Edn, line: number, field: string): Scalar {
  if (value === null || typeof value !== 'object') return value;
  if ('keyword' in value) return value.keyword;
  throw new HistoryError(`:${field} must be a plain value`, { line });
}

function toValue(value: Edn, line: number): HistoryValue | undefined {
  if (Array.isArray(value)) {
    if (value.length !== 2) throw new HistoryError(':value must be a pair', { line });
    return [toScalar(value[0]!, line, 'value'), toScalar(value[1]!, line, 'value')] as const;
  }
  if (value !== null && typeof value === 'object' && 'keyword' in value) return undefined; // :timed-out
  return toScalar(value, line, 'value');
}

function keyword(map: Map<string, Edn>, field: string, line: number): string {
  const value = map.get(field);
  if (value === null || typeof value !== 'object' || !('keyword' in value)) {
    throw new HistoryError(`:${field} must be a keyword`, { line });
  }
  return value.keyword;
}

/**
 * Parses a Jepsen history with one EDN map per line, as in the kv corpus:
 * `{:process 0, :type :invoke, :f :append, :key "k", :value "x"}`. Events of non-integer processes
 * (`:nemesis`) are skipped; `:time` (Jepsen's nanoseconds) becomes milliseconds.
 *
 * @throws HistoryError naming the line of a malformed map or of an event that does not pair up.
 */
export function parseEdnHistory(text: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  const lines: number[] = [];
  for (const { text: source, line } of nonBlankLines(text)) {
    const map = new EdnReader(source.trim(), line).readAll();
    if (!(map instanceof Map)) throw new HistoryError('expected a map {...}', { line });
    const process = map.get('process');
    if (process !== null && typeof process === 'object') continue; // :nemesis
    if (typeof process !== 'number' && typeof process !== 'string') {
      throw new HistoryError(':process must be a number or a string', { line });
    }
    const key = map.get('key');
    const value = map.has('value') ? toValue(map.get('value')!, line) : undefined;
    const time = map.get('time');
    const event: HistoryEvent = {
      process,
      type: keyword(map, 'type', line) as HistoryEvent['type'],
      op: keyword(map, 'f', line) as HistoryEvent['op'],
      ...(key === undefined || key === null ? {} : { key: String(toScalar(key, line, 'key')) }),
      ...(value === undefined ? {} : { value }),
      ...(typeof time === 'number' ? { time: time / 1e6 } : {}),
    };
    try {
      checkEventShape(event, events.length);
    } catch (error) {
      throw new HistoryError((error as Error).message.replace(/^event \d+: /, ''), { line });
    }
    events.push(event);
    lines.push(line);
  }
  checkParsedHistory(events, lines);
  return events;
}
