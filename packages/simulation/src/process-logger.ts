import type { Logger } from './ports.js';

/** Severity of a log entry. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One line a simulated process logged, stamped with its process and virtual time. */
export interface LogEntry {
  /** The process that logged it. */
  readonly node: string;
  /** Virtual time in milliseconds. */
  readonly time: number;
  readonly level: LogLevel;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** Receives every log entry of every process; use it to count "sometimes" events or to print a trace. */
export type LogSink = (entry: LogEntry) => void;

/** The Logger port of a simulated process: forwards to a sink, or does nothing without one. */
export class ProcessLogger implements Logger {
  /** Forwards to `sink` (nothing is logged without one), stamped with `node` and `time.now`. */
  constructor(
    private readonly node: string,
    private readonly time: { readonly now: number },
    private readonly sink: LogSink | undefined,
    /** False once the incarnation that owns this logger died: a dead process logs nothing. */
    private readonly alive: () => boolean = () => true,
  ) {}

  /** Logs at debug level. */
  debug(fields: Record<string, unknown>, message: string): void {
    this.write('debug', fields, message);
  }

  /** Logs at info level. */
  info(fields: Record<string, unknown>, message: string): void {
    this.write('info', fields, message);
  }

  /** Logs at warn level. */
  warn(fields: Record<string, unknown>, message: string): void {
    this.write('warn', fields, message);
  }

  /** Logs at error level. */
  error(fields: Record<string, unknown>, message: string): void {
    this.write('error', fields, message);
  }

  private write(level: LogLevel, fields: Record<string, unknown>, message: string): void {
    if (this.sink !== undefined && this.alive()) {
      this.sink({ node: this.node, time: this.time.now, level, fields, message });
    }
  }
}
