import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import type { LogLevel } from '../config/node-config.js';
import { formatLogLine } from './text-log-format.js';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Shown on every line (the member name). */
  name: string;
  /** Least severe level written. */
  level: LogLevel;
  /** 'json': JSON lines; 'text': {@link formatLogLine}. */
  format: 'json' | 'text';
  /** Where lines go (default: standard error, as etcd logs). */
  destination?: { write(text: string): unknown };
}

/**
 * A pino logger writing JSON lines as etcd's zap logger does: the level by name (`"level":"warn"`)
 * and the time in ISO 8601 UTC (`"time":"2026-01-02T03:04:05.678Z"`), not pino's level numbers and
 * epoch milliseconds; or human-readable text without pino-pretty.
 */
export function createLogger(options: LoggerOptions): PinoLogger {
  const destination = options.destination ?? process.stderr;
  const stream =
    options.format === 'text'
      ? { write: (line: string) => destination.write(formatLogLine(line)) }
      : { write: (line: string) => destination.write(line) };
  return pino(
    {
      name: options.name,
      level: options.level,
      base: { name: options.name },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}
