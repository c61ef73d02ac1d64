/**
 * The dashboard of a real local 3-node cluster in Chromium: kv-node processes on loopback, the
 * dashboard served as the local cluster launcher serves it (its own server, polling every
 * member's /v1/cluster, demo actions by pid). The page shows the leader; killing the leader from
 * the page makes a new leader appear on it, and restarting it from the page brings it back as a
 * follower.
 */

import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardServer } from '../../src/dashboard/dashboard-server.js';
import type { RunningDashboardServer } from '../../src/dashboard/dashboard-server.js';
import { HttpClusterStatusSource } from '../../src/dashboard/http-status-source.js';
import { createSignalDemoControl } from '../../src/dashboard/signal-demo-control.js';
import type { ProcessCluster } from '../support/process-cluster.js';
import type { StartedCluster } from '../support/started-cluster.js';
import { startedCluster } from '../support/started-cluster.js';
import type { BrowserSession } from './chromium.js';
import { SCREENSHOT_DIRECTORY, openBrowser } from './chromium.js';
import { buildDashboardBundle, removeDirectory } from './dashboard-fixtures.js';
import { killLeaderFromPage, leaderShown, restartFromPage } from './failover-flow.js';

describe('dashboard of a real 3-node cluster in Chromium', () => {
  let bundle: string | undefined;
  let launched: StartedCluster | undefined;
  let cluster: ProcessCluster | undefined;
  let server: RunningDashboardServer | undefined;
  let browser: BrowserSession | undefined;

  beforeAll(async () => {
    bundle = await buildDashboardBundle();
    launched = await startedCluster(3);
    const started = launched.cluster;
    cluster = started;
    const running = (name: string) => {
      const child = started.members.find((member) => member.name === name)?.process;
      return child !== undefined && child.exitCode === null && child.signalCode === null
        ? child
        : undefined;
    };
    server = await startDashboardServer({
      port: 0,
      title: 'kv-node local cluster',
      pollIntervalMs: 200,
      assetsDirectory: bundle,
      statusSource: new HttpClusterStatusSource({
        members: started.members.map((member) => ({
          name: member.name,
          clientUrl: member.clientUrl,
        })),
        timeoutMs: 500,
      }),
      demo: createSignalDemoControl({
        pidOf: (name) => running(name)?.pid,
        restart: (name) => {
          const member = started.members.find((candidate) => candidate.name === name);
          if (member === undefined) return Promise.reject(new Error(`no member ${name}`));
          if (running(name) !== undefined) {
            return Promise.reject(new Error(`${name} is running; kill it first`));
          }
          started.start(member);
          return Promise.resolve();
        },
      }),
    });
    browser = await openBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await launched?.stop();
    await removeDirectory(bundle);
  });

  it('shows the leader, kills it from the page and shows the new leader', async () => {
    const page = browser!.page;
    const leader = await cluster!.leader();
    await page.goto(server!.url);
    expect(await leaderShown(page)).toBe(leader.name);
    const newLeader = await killLeaderFromPage(page, leader.name);
    expect((await cluster!.leader()).name).toBe(newLeader);
    // Restarted from the page, the old leader rejoins as a follower of the new generation.
    await restartFromPage(page, leader.name);

    await mkdir(SCREENSHOT_DIRECTORY, { recursive: true });
    await page.screenshot({ path: `${SCREENSHOT_DIRECTORY}dashboard-cluster.png`, fullPage: true });
    expect(browser!.errors).toEqual([]);
  }, 90_000);
});
