import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import { formatLogLine } from './text-log-format.js';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Shown on every line (the member name). */
  name: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  /** 'json': pino's JSON lines; 'text': {@link formatLogLine}. */
  format: 'json' | 'text';
  /** Where lines go (default: standard error, as etcd logs). */
  destination?: { write(text: string): unknown };
}

/** A pino logger writing JSON lines, or human-readable text without pino-pretty. */
export function createLogger(options: LoggerOptions): PinoLogger {
  const destination = options.destination ?? process.stderr;
  const stream =
    options.format === 'text'
      ? { write: (line: string) => destination.write(formatLogLine(line)) }
      : { write: (line: string) => destination.write(line) };
  return pino({ name: options.name, level: options.level, base: { name: options.name } }, stream);
}
