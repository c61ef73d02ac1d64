/**
 * The end-to-end test through the command itself: `kv-node cluster --nodes 3` serves the
 * dashboard (demo mode) and prints its URL; in Chromium the page shows the leader, the leader is
 * killed from the page and a new leader appears; restarted, it follows; then the new leader is
 * partitioned from the page (through the launcher's peer proxy): it steps down, another leader is
 * elected, and once healed it catches up with the writes it missed. A screenshot is saved.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../support/process-cluster.js';
import type { BrowserSession } from './chromium.js';
import { SCREENSHOT_DIRECTORY, openBrowser } from './chromium.js';
import { buildDashboardBundleInto, removeDirectory } from './dashboard-fixtures.js';
import {
  healFromPage,
  killLeaderFromPage,
  leaderShown,
  partitionLeaderFromPage,
  restartFromPage,
} from './failover-flow.js';
import { freeBasePort, waitForOutput } from './launcher-output.js';
import { killPids, pidsWithArgument } from './process-tools.js';

describe('dashboard of `kv-node cluster` in Chromium', () => {
  let cliDirectory: string | undefined;
  let dataDirectory: string | undefined;
  let launcher: ChildProcess | undefined;
  let browser: BrowserSession | undefined;
  const output: string[] = [];

  beforeAll(async () => {
    cliDirectory = new URL(`../../dist-bench/dashboard-cli-e2e-${process.pid}`, import.meta.url)
      .pathname;
    // The CLI bundle finds the page's bundle in ./ui/ next to itself, as dist/cli.js finds dist/ui/.
    await Promise.all([buildCli(cliDirectory), buildDashboardBundleInto(`${cliDirectory}/ui`)]);
    dataDirectory = await mkdtemp(`${tmpdir()}/kv-dashboard-cli-data-`);
    const basePort = await freeBasePort(3);
    launcher = spawn(
      process.execPath,
      [
        `${cliDirectory}/cli.js`,
        'cluster',
        '--nodes',
        '3',
        '--base-port',
        String(basePort),
        '--data-dir',
        dataDirectory,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    launcher.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    launcher.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    browser = await openBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (launcher?.pid !== undefined && launcher.exitCode === null) {
      const exited = new Promise((resolve) => launcher?.once('exit', resolve));
      process.kill(launcher.pid, 'SIGKILL');
      await exited;
    }
    // The members are the launcher's children: find them by their data directory.
    if (dataDirectory !== undefined) killPids(await pidsWithArgument(dataDirectory));
    await removeDirectory(dataDirectory);
    await removeDirectory(cliDirectory);
  });

  it('shows the leader, kills it, then partitions the next leader and heals it', async () => {
    const [, dashboardUrl] = await waitForOutput(
      launcher!,
      output,
      /Dashboard: (http:\/\/\S+\/ui\/)/,
      60_000,
    );
    // The banner's member lines: `  node-1   http://127.0.0.1:20000   (leader)`.
    const clientUrls = new Map(
      [...output.join('').matchAll(/^ {2}(node-\d) +(http:\/\/\S+)/gm)].map(
        ([, name, url]) => [name!, url!] as const,
      ),
    );
    expect(clientUrls.size).toBe(3);
    const page = browser!.page;
    await page.goto(dashboardUrl!);
    const leader = await leaderShown(page);
    const newLeader = await killLeaderFromPage(page, leader);
    expect(newLeader).not.toBe(leader);
    await restartFromPage(page, leader);

    const thirdLeader = await partitionLeaderFromPage(page, newLeader);
    expect(thirdLeader).not.toBe(newLeader);
    await mkdir(SCREENSHOT_DIRECTORY, { recursive: true });
    await page.screenshot({
      path: `${SCREENSHOT_DIRECTORY}dashboard-kv-node-cluster-partitioned.png`,
      fullPage: true,
    });
    // Writes the isolated node misses, so healing has something to catch up on.
    for (let index = 0; index < 5; index++) {
      const response = await fetch(`${clientUrls.get(thirdLeader)}/v1/kv/missed-${index}`, {
        method: 'PUT',
        body: String(index),
        signal: AbortSignal.timeout(10_000),
      });
      expect(response.ok).toBe(true);
    }
    await healFromPage(page, newLeader);
    expect(output.join('')).toContain(`${newLeader} partitioned from its peers from the dashboard`);
    await page.screenshot({
      path: `${SCREENSHOT_DIRECTORY}dashboard-kv-node-cluster.png`,
      fullPage: true,
    });
    expect(browser!.errors).toEqual([]);
  }, 150_000);
});
