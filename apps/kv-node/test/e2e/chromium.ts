/**
 * Debian's Chromium driven by playwright-core, for the dashboard's browser tests. Nothing is
 * downloaded: the browser is `/usr/bin/chromium` (`apt-get install -y chromium`), started with a
 * fresh profile directory and killed by pid when the test is done.
 */

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { killPids, pidsWithArgument } from './process-tools.js';

/** Where Debian installs Chromium. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Screenshots go here (git-ignored: `apps/kv-node/test-results/`). */
export const SCREENSHOT_DIRECTORY = new URL('../../test-results/', import.meta.url).pathname;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A running browser and its page; `errors` collects console errors and uncaught exceptions. */
export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  errors: string[];
  close(): Promise<void>;
}

/**
 * Starts Chromium with a fresh profile and opens one page.
 *
 * @throws if Chromium is not installed, with the command that installs it.
 */
export async function openBrowser(): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: install it with apt-get install -y chromium`);
  }
  const profileDirectory = await mkdtemp(`${tmpdir()}/kv-dashboard-chromium-`);
  let context: BrowserContext | undefined;
  const close = async (): Promise<void> => {
    await context?.close().catch(() => undefined);
    // Whatever survived a graceful close (a hung renderer, a crashpad handler) is killed by pid.
    killPids(await pidsWithArgument(profileDirectory));
    await rm(profileDirectory, { recursive: true, force: true });
  };
  try {
    context = await chromium.launchPersistentContext(profileDirectory, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
      timeout: 30_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    return { context, page, errors, close };
  } catch (error) {
    await close();
    throw error;
  }
}
