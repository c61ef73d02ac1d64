/** The browser steps of the failover demo, shared by the real-cluster tests. */

import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** Waits until the page shows a leader and returns its name. */
export async function leaderShown(page: Page, timeoutMs = 20_000): Promise<string> {
  let shown: string | null = null;
  await expect
    .poll(
      async () => {
        shown = await page.locator('#leader').textContent();
        return shown !== null && shown !== '-' && shown !== 'none';
      },
      { timeout: timeoutMs },
    )
    .toBe(true);
  return shown as unknown as string;
}

/**
 * Presses the leader's kill button and waits until the page shows another leader, with the old
 * one unreachable. Returns the new leader's name.
 */
export async function killLeaderFromPage(page: Page, leader: string): Promise<string> {
  await expect
    .poll(() => page.locator(`tr[data-node="${leader}"] [data-field="role"]`).textContent())
    .toBe('leader');
  await page.locator(`button[data-action="kill"][data-node="${leader}"]`).click();
  await expect.poll(() => page.locator('#demo-message').textContent()).toBe(`kill: ${leader}`);
  let newLeader: string | null = null;
  await expect
    .poll(
      async () => {
        newLeader = await page.locator('#leader').textContent();
        return newLeader !== null && newLeader !== 'none' && newLeader !== leader;
      },
      { timeout: 20_000 },
    )
    .toBe(true);
  expect(await page.locator(`tr[data-node="${leader}"] [data-field="role"]`).textContent()).toBe(
    'unreachable',
  );
  expect(await page.locator('#timeline li').count()).toBeGreaterThanOrEqual(2);
  return newLeader as unknown as string;
}

/** Presses the restart button of `name` and waits until the page shows it following. */
export async function restartFromPage(page: Page, name: string): Promise<void> {
  await page.locator(`button[data-action="restart"][data-node="${name}"]`).click();
  await expect
    .poll(() => page.locator(`tr[data-node="${name}"] [data-field="role"]`).textContent(), {
      timeout: 30_000,
    })
    .toBe('follower');
  expect(await page.locator(`tr[data-node="${name}"]`).getAttribute('data-fault')).toBe(null);
}
