import type { LogCleaner } from './log-cleaner.js';
import type { Logger, Timers } from './ports.js';
import { silentLogger } from './ports.js';

/** The part of `WriteAheadLog` periodic cleaning needs. */
export interface CleanableLog {
  clean(cleaner: LogCleaner): Promise<number>;
}

/** Options of `startPeriodicCleaning`. */
export interface PeriodicCleaningOptions {
  /** Milliseconds between the end of one cleaning and the start of the next. */
  intervalMs: number;
  /** Timers (real or virtual). */
  timers: Timers;
  /** Told about each cleaning that deleted segments, and about failures. Default: silent. */
  logger?: Logger;
}

/**
 * Runs `log.clean(cleaner)` every `intervalMs` until stopped, on the injected timers (so a
 * simulator can drive it). A failed cleaning is logged and cleaning stops: a log that cannot delete
 * a file has failed stop anyway. Returns a handle whose `stop()` cancels the next run.
 */
export function startPeriodicCleaning(
  log: CleanableLog,
  cleaner: LogCleaner,
  options: PeriodicCleaningOptions,
): { stop(): void } {
  const logger = options.logger ?? silentLogger;
  let stopped = false;
  let handle: unknown;
  const schedule = () => {
    handle = options.timers.setTimeout(() => void run(), options.intervalMs);
  };
  const run = async () => {
    handle = undefined;
    if (stopped) return;
    try {
      const deleted = await log.clean(cleaner);
      if (deleted > 0)
        logger.info({ deletedSegments: deleted }, 'write-ahead log: released old segments');
    } catch (error) {
      logger.error({ err: error }, 'write-ahead log: cleaning failed; periodic cleaning stopped');
      return;
    }
    if (!stopped) schedule();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      if (handle !== undefined) options.timers.clearTimeout(handle);
    },
  };
}
