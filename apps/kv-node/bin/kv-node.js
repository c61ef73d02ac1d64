#!/usr/bin/env node
// The `kv-node` command. `bin` points at this committed launcher rather than at dist/, so that
// installing the workspace can link the command before anything is built; the code is dist/cli.js.
import '../dist/cli.js';
