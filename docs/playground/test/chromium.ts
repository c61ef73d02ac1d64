/**
 * Debian's Chromium driven by playwright-core, as kv-node's dashboard tests do
 * (apps/kv-node/test/e2e/chromium.ts): nothing is downloaded; the browser is `/usr/bin/chromium`,
 * started with a fresh profile directory and killed by pid when the test is done.
 */

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';

/** Where Debian installs Chromium (`apt-get install -y chromium`). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `${CHROMIUM_PATH} is missing: install it with apt-get install -y chromium`;
}

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A running browser and its page; `errors` collects console errors and uncaught exceptions. */
export interface BrowserSession {
  readonly page: Page;
  readonly errors: string[];
  close(): Promise<void>;
}

/** Pids of the processes whose command line contains `text` (Linux `/proc`). */
async function pidsWithArgument(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if ((await readFile(`/proc/${entry}/cmdline`, 'utf8')).includes(text))
        pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Starts Chromium with a fresh profile and opens one page. @throws if Chromium is missing. */
export async function openBrowser(): Promise<BrowserSession> {
  const missing = chromiumMissing();
  if (missing !== undefined) throw new Error(missing);
  const profileDirectory = await mkdtemp(`${tmpdir()}/docs-playground-chromium-`);
  let context: BrowserContext | undefined;
  const close = async (): Promise<void> => {
    await context?.close().catch(() => undefined);
    // Whatever survived a graceful close (a hung renderer, a crash handler) is killed by pid.
    for (const pid of await pidsWithArgument(profileDirectory)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await rm(profileDirectory, { recursive: true, force: true });
  };
  try {
    context = await chromium.launchPersistentContext(profileDirectory, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 1000 },
      timeout: 30_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    return { page, errors, close };
  } catch (error) {
    await close();
    throw error;
  }
}
