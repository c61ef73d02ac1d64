import { readFile, writeFile } from 'node:fs/promises';
import type { CliIo } from './cli-main.js';

/** The CLI's I/O on the real file system, standard streams and monotonic clock. */
export const nodeCliIo: CliIo = {
  readFile: (path) => readFile(path, 'utf8'),
  writeFile: (path, text) => writeFile(path, text, 'utf8'),
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  clock: { now: () => performance.now() },
};
