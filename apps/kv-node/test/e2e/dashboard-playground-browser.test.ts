/**
 * The dashboard's Playground tab in a real browser: the tab opens from the cluster page, runs the
 * docs site's playground (the same `@x/playground` source) under the dashboard's strict
 * Content-Security-Policy, replays the leader-crash scenario to a new leader the same way twice,
 * shows a leaderless scenario, and asks nothing of any server but its own page and assets.
 */

import { stat } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioById } from '@x/playground';
import { startDashboardServer } from '../../src/dashboard/dashboard-server.js';
import type { RunningDashboardServer } from '../../src/dashboard/dashboard-server.js';
import type { BrowserSession } from './chromium.js';
import { SCREENSHOT_DIRECTORY, openBrowser } from './chromium.js';
import { buildDashboardBundle, removeDirectory } from './dashboard-fixtures.js';
import { FakeCluster } from './fake-cluster.js';

describe('dashboard Playground tab in Chromium', { timeout: 240_000 }, () => {
  let bundle: string | undefined;
  let server: RunningDashboardServer | undefined;
  let browser: BrowserSession | undefined;
  let origin: string;
  const requested: string[] = [];

  beforeAll(async () => {
    bundle = await buildDashboardBundle();
    server = await startDashboardServer({
      port: 0,
      statusSource: new FakeCluster(),
      pollIntervalMs: 150,
      assetsDirectory: bundle,
      title: 'kv-node local cluster',
    });
    origin = new URL(server.url).origin;
    browser = await openBrowser();
    browser.page.on('request', (request) => requested.push(request.url()));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await removeDirectory(bundle);
  });

  it('is bundled beside the dashboard and served under the same strict policy', async () => {
    const script = await stat(`${bundle}/playground.js`);
    // The simulator and the real leader-follower core, minified: tens of KiB, not megabytes.
    expect(script.size).toBeGreaterThan(50_000);
    expect(script.size).toBeLessThan(1_000_000);
    const page = await fetch(`${origin}/ui/playground`);
    expect(page.status).toBe(200);
    const cluster = await fetch(`${origin}/ui/`);
    expect(page.headers.get('content-security-policy')).toBe(
      cluster.headers.get('content-security-policy'),
    );
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self';");
    const slash = await fetch(`${origin}/ui/playground/?seed=2`, { redirect: 'manual' });
    expect(slash.status).toBe(308);
    expect(slash.headers.get('location')).toBe('/ui/playground?seed=2');
    expect((await fetch(`${origin}/ui/assets/playground.css`)).status).toBe(200);
  });

  it('opens from the cluster page and replays the leader crash to a new leader, the same way twice', async () => {
    const page = browser!.page;
    await page.goto(server!.url);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
    await page.locator('#tab-playground').click();
    await page.locator('#playground-root[data-ready="true"]').waitFor({ timeout: 30_000 });
    expect(new URL(page.url()).pathname).toBe('/ui/playground');
    expect(await page.locator('#tab-playground').getAttribute('aria-current')).toBe('page');

    const scenario = scenarioById('leader-crash')!;
    const runToEnd = async () => {
      await page.goto(`${origin}/ui/playground#leader-crash`);
      await page.locator('#playground-root[data-ready="true"]').waitFor({ timeout: 30_000 });
      await page.locator('#pg-run-to-end').click();
      await page
        .locator(`#playground-root[data-now-ms="${scenario.endMs}"]`)
        .waitFor({ timeout: 60_000 });
      return {
        trace: await page.locator('#playground-root').getAttribute('data-trace'),
        leader: await page.locator('#pg-leader').textContent(),
        history: await page.locator('#pg-history').textContent(),
      };
    };
    const first = await runToEnd();
    const crash = /crash (\w+): the process dies/.exec(first.history ?? '');
    expect(crash, 'the crash is narrated').not.toBeNull();
    const leader = /^Leader: (\w+) \(generation (\d+)\)/.exec(first.leader ?? '');
    expect(leader, `leader line: ${first.leader}`).not.toBeNull();
    expect(leader![1]).not.toBe(crash![1]);
    expect(Number(leader![2])).toBeGreaterThanOrEqual(2);
    for (const member of ['athens', 'byzantium', 'cyrene']) {
      expect(
        await page.locator(`article[data-member="${member}"] [data-field="values"]`).textContent(),
      ).toBe('applied values: x=2');
    }
    expect(first.trace).toMatch(/^[0-9a-f]{16}$/);
    expect(await runToEnd()).toEqual(first);

    // The leaderless panel runs in the same page.
    const leaderless = page.locator('#leaderless-root[data-ready="true"]');
    await leaderless.waitFor({ timeout: 30_000 });
    expect(await page.locator('#ll-answer').textContent()).toMatch(/^byzantium answered: /);

    await mkdir(SCREENSHOT_DIRECTORY, { recursive: true });
    await page.screenshot({
      path: `${SCREENSHOT_DIRECTORY}dashboard-playground.png`,
      fullPage: true,
    });

    // Back to the live cluster.
    await page.locator('#tab-cluster').click();
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
    expect(new URL(page.url()).pathname).toBe('/ui/');

    // No network at run time beyond the dashboard itself; nothing failed (a CSP violation is a
    // console error).
    expect(requested.filter((url) => !url.startsWith(`${origin}/`))).toEqual([]);
    expect(browser!.errors).toEqual([]);
  });
});
