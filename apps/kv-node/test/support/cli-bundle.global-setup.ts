/**
 * Vitest global setup of the kv-node project: bundles the CLI once per run, before any test file
 * starts, instead of once in each real-process test file. The folder is handed to the test
 * workers as `kvNodeCliDirectory` (see `sharedCliPath` in process-cluster.ts) and removed when
 * the run ends.
 */

import { rm } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import { appRoot, bundleCli } from './cli-bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The folder holding the CLI bundled for this run (`cli.js` and `proto/`). */
    kvNodeCliDirectory: string;
  }
}

/**
 * Bundles the CLI into dist-bench/ (git-ignored, inside the app) and provides its folder; in
 * watch mode it bundles again before each rerun, so a rerun runs the edited source.
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const directory = `${appRoot}/dist-bench/cli-run-${process.pid}`;
  await bundleCli(directory);
  project.provide('kvNodeCliDirectory', directory);
  project.onTestsRerun(async () => {
    await bundleCli(directory);
  });
  return () => rm(directory, { recursive: true, force: true });
}
