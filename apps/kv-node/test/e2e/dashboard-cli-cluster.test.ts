/**
 * The end-to-end test through the command itself: `kv-node cluster --nodes 3` serves the
 * dashboard (demo mode) and prints its URL; in Chromium the page shows the leader, the leader is
 * killed from the page and a new leader appears; restarted, it follows; then the new leader is
 * partitioned from the page (through the launcher's peer proxy): it steps down, another leader is
 * elected, and once healed it catches up with the writes it missed. A screenshot is saved.
 */

import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCREENSHOT_DIRECTORY } from './chromium.js';
import {
  healFromPage,
  killLeaderFromPage,
  leaderShown,
  partitionLeaderFromPage,
  restartFromPage,
} from './failover-flow.js';
import { LaunchedCluster } from './launched-cluster.js';

describe('dashboard of `kv-node cluster` in Chromium', () => {
  const cluster = new LaunchedCluster({ label: 'dashboard-cli', portSlots: 3 });
  beforeAll(() => cluster.start(), 120_000);
  afterAll(() => cluster.stop());

  it('shows the leader, kills it, then partitions the next leader and heals it', async () => {
    const dashboardUrl = await cluster.dashboardUrl();
    // The banner's member lines: `  node-1   http://127.0.0.1:20000   (leader)`.
    const clientUrls = new Map(
      [...cluster.output.join('').matchAll(/^ {2}(node-\d) +(http:\/\/\S+)/gm)].map(
        ([, name, url]) => [name!, url!] as const,
      ),
    );
    expect(clientUrls.size).toBe(3);
    const page = cluster.browser!.page;
    await page.goto(dashboardUrl);
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
    expect(cluster.output.join('')).toContain(
      `${newLeader} partitioned from its peers from the dashboard`,
    );
    await page.screenshot({
      path: `${SCREENSHOT_DIRECTORY}dashboard-kv-node-cluster.png`,
      fullPage: true,
    });
    expect(cluster.browser!.errors).toEqual([]);
  }, 150_000);
});
