/**
 * The built playground page in Chromium: the leader-crash scenario elects a new leader, the same
 * link opened twice gives the same run (same trace hash, same narration), and each leaderless
 * scenario shows the answer its consistency level gives, the same way twice.
 */

import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeConfig, leaderlessScenarios, runEndMs, scenarioById } from '@x/playground';
import { buildAndServeSite, type ServedSite } from './built-site.js';
import { chromiumMissing, openBrowser, type BrowserSession } from './chromium.js';

const PAGE = 'documents/Cluster_playground.html';
const SCREENSHOTS = new URL('../../test-results/', import.meta.url).pathname;
const missing = chromiumMissing();

describe.skipIf(missing !== undefined)(
  `cluster playground in Chromium${missing === undefined ? '' : ` (skipped: ${missing})`}`,
  { timeout: 240_000 },
  () => {
    let site: ServedSite | undefined;
    let browser: BrowserSession | undefined;

    beforeAll(async () => {
      site = await buildAndServeSite(200_000);
      browser = await openBrowser();
    }, 240_000);

    afterAll(async () => {
      await browser?.close();
      await site?.close();
    });

    /** Opens `url`, runs its script to the end, and returns what the page shows. */
    async function runToEnd(url: string, endMs: number) {
      const page = browser!.page;
      await page.goto(url);
      await page.locator('#playground-root[data-ready="true"]').waitFor({ timeout: 30_000 });
      await page.locator('#pg-run-to-end').click();
      await page.locator(`#playground-root[data-now-ms="${endMs}"]`).waitFor({ timeout: 60_000 });
      const root = page.locator('#playground-root');
      return {
        trace: await root.getAttribute('data-trace'),
        events: await root.getAttribute('data-events'),
        leader: await page.locator('#pg-leader').textContent(),
        last: await page.locator('#pg-last').textContent(),
        history: await page.locator('#pg-history').textContent(),
      };
    }

    it('runs the leader-crash scenario and shows a new leader elected', async () => {
      const scenario = scenarioById('leader-crash')!;
      const shown = await runToEnd(`${site!.url}${PAGE}#leader-crash`, scenario.endMs);
      const crash = /crash (\w+): the process dies/.exec(shown.history ?? '');
      expect(crash, 'the crash is narrated').not.toBeNull();
      const leader = /^Leader: (\w+) \(generation (\d+)\)/.exec(shown.leader ?? '');
      expect(leader, `leader line: ${shown.leader}`).not.toBeNull();
      expect(leader![1]).not.toBe(crash![1]);
      expect(Number(leader![2])).toBeGreaterThanOrEqual(2);
      expect(shown.history).toContain(`${leader![1]} leads generation ${leader![2]}`);
      // The crashed member restarted and follows the new leader.
      const card = browser!.page.locator(`article[data-member="${crash![1]}"]`);
      expect(await card.getAttribute('data-process')).toBe('running');
      expect(await card.locator('[data-field="summary"]').textContent()).toContain(
        `leader: ${leader![1]}`,
      );
      // The committed values are applied on every member.
      for (const member of ['athens', 'byzantium', 'cyrene']) {
        expect(
          await browser!.page
            .locator(`article[data-member="${member}"] [data-field="values"]`)
            .textContent(),
        ).toBe('applied values: x=2');
      }
      // The address now names the run itself, so it can be shared.
      expect(browser!.page.url()).toContain('?seed=1&members=3&script=');
      await mkdir(SCREENSHOTS, { recursive: true });
      await browser!.page.screenshot({
        path: `${SCREENSHOTS}playground-leader-crash.png`,
        fullPage: true,
      });
      expect(browser!.errors).toEqual([]);
    });

    it('records the buttons a reader presses in the link', async () => {
      const page = browser!.page;
      await page.goto(`${site!.url}${PAGE}`);
      await page.locator('#playground-root[data-ready="true"]').waitFor({ timeout: 30_000 });
      await page.locator('#pg-speed').selectOption('4');
      await page.locator('#pg-play').click();
      expect(await page.locator('#pg-play').getAttribute('aria-pressed')).toBe('true');
      await expect
        .poll(() => page.locator('#pg-leader').textContent(), { timeout: 30_000 })
        .toMatch(/^Leader: \w+ \(generation 1\)/);
      await page.locator('#pg-play').click();
      const leader = /^Leader: (\w+)/.exec((await page.locator('#pg-leader').textContent())!)![1]!;
      await page.locator(`button[data-action="crash"][data-member="${leader}"]`).click();
      await expect
        .poll(() => page.locator(`article[data-member="${leader}"]`).getAttribute('data-process'))
        .toBe('crashed');
      expect(await page.locator('#pg-last').textContent()).toContain(`crash ${leader}`);
      const link = await page.locator('#pg-link').getAttribute('href');
      expect(decodeURIComponent(link!.replaceAll('+', ' '))).toMatch(
        new RegExp(`^\\?seed=1&members=3&script=@\\d+ crash ${leader}$`),
      );
      // Replaying the link gives the same crash at the same virtual time.
      const atMs = Number(/@(\d+)/.exec(decodeURIComponent(link!))![1]);
      await page.goto(`${site!.url}${PAGE}${link}`);
      await page.locator('#playground-root[data-ready="true"]').waitFor({ timeout: 30_000 });
      await page.locator('#pg-run-to-end').click();
      await page
        .locator(`#playground-root[data-now-ms="${atMs + 4_000}"]`)
        .waitFor({ timeout: 60_000 });
      expect(await page.locator('#pg-history').textContent()).toContain(`crash ${leader}`);
      expect(
        await page.locator(`article[data-member="${leader}"]`).getAttribute('data-process'),
      ).toBe('crashed');
      await expect.poll(() => page.locator('#pg-leader').textContent()).toMatch(/generation 2/);
      expect(browser!.errors).toEqual([]);
    });

    it('gives the same run for the same link opened twice', async () => {
      const scenario = scenarioById('paused-leader')!;
      const url = `${site!.url}${PAGE}${encodeConfig(scenario.config)}`;
      // A link that names a run (not a scenario) runs a while past its last action.
      const endMs = runEndMs(scenario.config.script, undefined);
      const first = await runToEnd(url, endMs);
      const second = await runToEnd(url, endMs);
      expect(first.trace).toMatch(/^[0-9a-f]{16}$/);
      expect(second).toEqual(first);
      expect(first.history).toContain('Stale leader rejected');
      expect(browser!.errors).toEqual([]);
    });

    it('shows each leaderless scenario: byzantium stale at one, repaired at quorum and linearizable', async () => {
      const page = browser!.page;
      const expected: Record<string, { answer: string; copies: string }> = {
        'leaderless-read-one': {
          answer: 'Distributed Systems',
          copies: 'athens=Microservices, byzantium=Distributed Systems',
        },
        'leaderless-read-quorum': {
          answer: 'Microservices',
          copies: 'athens=Microservices, byzantium=Microservices',
        },
        'leaderless-read-linearizable': {
          answer: 'Microservices',
          copies: 'athens=Microservices, byzantium=Microservices',
        },
      };
      const open = async (id: string) => {
        await page.goto(`${site!.url}${PAGE}#${id}`);
        const root = page.locator(`#leaderless-root[data-ready="true"][data-scenario="${id}"]`);
        await root.waitFor({ timeout: 30_000 });
        return {
          trace: await root.getAttribute('data-trace'),
          answer: await page.locator('#ll-answer').textContent(),
          copies: await page.locator('#ll-copies').textContent(),
          arrows: await page.locator('#ll-picture svg line[marker-end]').count(),
        };
      };
      for (const scenario of leaderlessScenarios) {
        const first = await open(scenario.id);
        expect(first.answer).toBe(`byzantium answered: ${expected[scenario.id]!.answer}`);
        expect(first.copies).toContain(expected[scenario.id]!.copies);
        expect(first.arrows).toBeGreaterThan(0);
        expect(first.trace).toMatch(/^[0-9a-f]{16}$/);
        expect(await open(scenario.id)).toEqual(first);
      }
      // The buttons switch scenarios in place.
      await page.locator('#leaderless-root button[data-scenario="leaderless-read-one"]').click();
      await page
        .locator('#leaderless-root[data-ready="true"][data-scenario="leaderless-read-one"]')
        .waitFor({ timeout: 30_000 });
      expect(await page.locator('#ll-answer').textContent()).toBe(
        'byzantium answered: Distributed Systems',
      );
      await mkdir(SCREENSHOTS, { recursive: true });
      await page.locator('#leaderless-root').screenshot({
        path: `${SCREENSHOTS}playground-leaderless-read-one.png`,
      });
      expect(browser!.errors).toEqual([]);
    });
  },
);
