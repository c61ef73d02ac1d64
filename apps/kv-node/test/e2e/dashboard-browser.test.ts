/**
 * The dashboard in a real browser against a scripted cluster: the page shows the leader, streams
 * updates without reloading, the kill button leads to a new leader on the page, and a partitioned
 * leader steps down, falls behind and catches up once healed.
 */

import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardServer } from '../../src/dashboard/dashboard-server.js';
import type { RunningDashboardServer } from '../../src/dashboard/dashboard-server.js';
import type { BrowserSession } from './chromium.js';
import { SCREENSHOT_DIRECTORY, openBrowser } from './chromium.js';
import { buildDashboardBundle, removeDirectory } from './dashboard-fixtures.js';
import { FakeCluster } from './fake-cluster.js';

describe('dashboard in Chromium (scripted cluster)', () => {
  let bundle: string | undefined;
  let server: RunningDashboardServer | undefined;
  let browser: BrowserSession | undefined;
  const cluster = new FakeCluster();

  beforeAll(async () => {
    bundle = await buildDashboardBundle();
    server = await startDashboardServer({
      port: 0,
      statusSource: cluster,
      demo: cluster,
      pollIntervalMs: 150,
      assetsDirectory: bundle,
      title: 'kv-node local cluster',
    });
    browser = await openBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await removeDirectory(bundle);
  });

  it('shows the leader, a new one after a kill, and a partitioned leader stepping down', async () => {
    const page = browser!.page;
    await page.goto(server!.url);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.locator('#leader').textContent()).toBe('node-1');
    expect(await page.locator('#nodes tbody tr').count()).toBe(3);
    const leaderRole = page.locator('tr[data-node="node-1"] [data-field="role"]');
    expect(await leaderRole.textContent()).toBe('leader');
    // Updates stream in without a reload: the last index keeps growing.
    const lastIndex = page.locator('tr[data-node="node-2"] [data-field="lastIndex"]');
    const before = await lastIndex.textContent();
    await expect.poll(() => lastIndex.textContent(), { timeout: 10_000 }).not.toBe(before);

    await page.locator('button[data-action="kill"][data-node="node-1"]').click();
    await expect.poll(() => page.locator('#demo-message').textContent()).toBe('kill: node-1');
    await expect
      .poll(() => page.locator('#leader').textContent(), { timeout: 10_000 })
      .toBe('node-2');
    expect(cluster.actions).toEqual(['kill node-1']);
    expect(await page.locator('tr[data-node="node-1"]').getAttribute('data-fault')).toBe('killed');
    expect(await page.locator('tr[data-node="node-1"] [data-field="role"]').textContent()).toBe(
      'unreachable',
    );
    await expect
      .poll(() => page.locator('#timeline li').allTextContents())
      .toEqual([
        expect.stringContaining('node-2 leads (generation 2)'),
        expect.stringContaining('no leader'),
        expect.stringContaining('node-1 leads (generation 1)'),
      ]);

    // Every figure of a row is shown, the snapshot index included.
    expect(
      await page.locator('tr[data-node="node-2"] [data-field="snapshotIndex"]').textContent(),
    ).toBe('50');

    // Partitioning the leader: it steps down, node-3 is elected, node-2 falls behind.
    await page.locator('button[data-action="partition"][data-node="node-2"]').click();
    await expect.poll(() => page.locator('#demo-message').textContent()).toBe('partition: node-2');
    await expect
      .poll(() => page.locator('#leader').textContent(), { timeout: 10_000 })
      .toBe('node-3');
    const isolated = page.locator('tr[data-node="node-2"]');
    await expect.poll(() => isolated.getAttribute('data-fault')).toBe('partitioned');
    expect(await isolated.locator('[data-field="role"]').textContent()).toBe('follower');
    await expect
      .poll(async () =>
        Number(await isolated.locator('[data-field="lagBehindLeader"]').textContent()),
      )
      .toBeGreaterThan(0);

    // Healed, it catches up.
    await page.locator('#heal').click();
    await expect
      .poll(() => page.locator('#demo-message').textContent())
      .toBe('healed every partition');
    await expect.poll(() => isolated.getAttribute('data-fault')).toBe(null);
    await expect
      .poll(() => isolated.locator('[data-field="lagBehindLeader"]').textContent())
      .toBe('0');
    expect(cluster.actions).toEqual(['kill node-1', 'partition node-2', 'heal']);

    await mkdir(SCREENSHOT_DIRECTORY, { recursive: true });
    await page.screenshot({
      path: `${SCREENSHOT_DIRECTORY}dashboard-scripted.png`,
      fullPage: true,
    });
    // Nothing may fail: a CSP violation, a missing asset, an exception.
    expect(browser!.errors).toEqual([]);
  }, 60_000);
});
