#!/usr/bin/env node
// Bundles the cluster playground (the private workspace package @x/playground, apps/playground/,
// with @x/simulation and @x/leader-follower from their sources) for the browser into
// <site>/assets/playground/, where the site's loader (docs/playground/loader.js, typedoc's
// customJs) finds it. Run after typedoc: the bundle is part of the built site and never
// committed. Prints the bundle's size. kv-node's dashboard bundles the same package for its
// Playground tab.
//
// Usage: node docs/scripts/build-playground.mjs [siteDirectory]   (default: docs/site)

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundlePlayground, describeSize } from '@x/playground/bundle';

const docsDirectory = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Builds the bundle into `<siteDirectory>/assets/playground/playground.js`.
 *
 * @param {string} siteDirectory - the built site (typedoc's output).
 * @returns {Promise<{ file: string, bytes: number, gzipBytes: number }>}
 */
export async function buildPlayground(siteDirectory) {
  return bundlePlayground({ outDir: join(resolve(siteDirectory), 'assets', 'playground') });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const site = process.argv[2] ?? join(docsDirectory, 'site');
  console.log(`playground bundle: ${describeSize(await buildPlayground(site))}`);
}
