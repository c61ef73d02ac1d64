#!/usr/bin/env node
/** Entry point of the `kv-node` binary. */

import { cliMain } from './cli/cli-main.js';
import { runNode } from './node/run-node.js';

cliMain({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  runNode,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `kv-node: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
