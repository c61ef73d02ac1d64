/** Monotonic time in milliseconds (never wall time). */
export interface Clock {
  now(): number;
}

/** Callbacks on (real or virtual) time. Handles are opaque. */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Uniform random numbers in [0, 1); seeded in simulation. */
export interface Random {
  next(): number;
}

/** A pino-compatible logger subset; the default is a no-op. Libraries never print. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** A logger that discards everything: the default, because libraries never print. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
