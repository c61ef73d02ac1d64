#!/usr/bin/env node
// Prints the package table: what `pnpm start` shows until kv-node can start a cluster.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const rows = ['packages', 'apps'].flatMap((group) =>
  readdirSync(join(root, group)).map((name) =>
    JSON.parse(readFileSync(join(root, group, name, 'package.json'), 'utf8')),
  ),
);
const width = Math.max(...rows.map((p) => p.name.length));
for (const p of rows) console.log(`${p.name.padEnd(width)}  ${p.description}`);
