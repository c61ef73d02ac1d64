#!/usr/bin/env node
// The `x-linearizability` command. Kept thin: the logic is in cli-main.ts, the I/O in node-cli.ts.
import { runCli } from './cli-main.js';
import { nodeCliIo } from './node-cli.js';

process.exitCode = await runCli(process.argv.slice(2), nodeCliIo);
