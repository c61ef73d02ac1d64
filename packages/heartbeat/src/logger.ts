/** A pino-compatible logger subset. Libraries never print; pass one to see what they report. */
export interface Logger {
  /** Detail useful while debugging. */
  debug(fields: Record<string, unknown>, message: string): void;
  /** Normal, noteworthy events. */
  info(fields: Record<string, unknown>, message: string): void;
  /** Something unexpected that the library worked around. */
  warn(fields: Record<string, unknown>, message: string): void;
  /** Something failed, for example a user callback threw. */
  error(fields: Record<string, unknown>, message: string): void;
}

const ignore = (): void => {};

/** The default {@link Logger}: discards everything. */
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
