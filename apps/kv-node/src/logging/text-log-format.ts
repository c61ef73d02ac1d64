/**
 * A tiny human-readable formatter for the logger's JSON lines (so `--log-format text` needs no
 * pino-pretty): `2026-01-02T03:04:05.678Z INFO  node-1: message key=value ...`. It reads the
 * etcd-style lines `createLogger` writes (level names, ISO times) and pino's defaults (level
 * numbers, epoch milliseconds) alike.
 */

const LEVEL_NAMES: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

function levelText(level: unknown): string {
  const name = typeof level === 'number' ? LEVEL_NAMES[level] : level;
  return typeof name === 'string' ? name.toUpperCase().padEnd(5) : String(level);
}

function timeText(time: unknown): string {
  if (typeof time === 'number') return new Date(time).toISOString();
  return typeof time === 'string' ? time : '';
}

/** Fields pino adds that the prefix already shows or that add noise. */
const PREFIX_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null && 'message' in value && 'stack' in value) {
    return JSON.stringify((value as { message: unknown }).message);
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** Formats one JSON log line (with or without its newline); other text passes through. */
export function formatLogLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const time = timeText(record.time);
  const level = levelText(record.level);
  const name = typeof record.name === 'string' ? `${record.name}: ` : '';
  const fields = Object.entries(record)
    .filter(([key]) => !PREFIX_FIELDS.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  const message = typeof record.msg === 'string' ? record.msg : '';
  return `${[time, level, `${name}${message}`, ...fields].filter((part) => part !== '').join(' ')}\n`;
}
