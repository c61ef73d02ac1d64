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

/**
 * Presses the partition button of the leader and waits until the page shows it cut off: marked
 * partitioned, another leader elected, and the isolated node no longer leading (check-quorum
 * made it step down) and behind the new leader. Returns the new leader's name.
 */
export async function partitionLeaderFromPage(page: Page, leader: string): Promise<string> {
  const row = page.locator(`tr[data-node="${leader}"]`);
  await expect
    .poll(() => row.locator('[data-field="role"]').textContent(), { timeout: 10_000 })
    .toBe('leader');
  await page.locator(`button[data-action="partition"][data-node="${leader}"]`).click();
  await expect
    .poll(() => page.locator('#demo-message').textContent(), { timeout: 10_000 })
    .toBe(`partition: ${leader}`);
  // The page learns of the fault with the next view it is sent.
  await expect.poll(() => row.getAttribute('data-fault'), { timeout: 10_000 }).toBe('partitioned');
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
  // Still reachable by clients, so the page shows its own view: not leading any more.
  await expect
    .poll(() => row.locator('[data-field="role"]').textContent(), { timeout: 20_000 })
    .toMatch(/^(follower|candidate)$/);
  await expect
    .poll(
      async () => {
        const lag = await row.locator('[data-field="lagBehindLeader"]').textContent();
        return Number(lag?.replaceAll(',', ''));
      },
      { timeout: 20_000 },
    )
    .toBeGreaterThan(0);
  return newLeader as unknown as string;
}

/**
 * Presses "heal all partitions" and waits until `name` follows again and has caught up: no lag,
 * and its last index equal to the leader's.
 */
export async function healFromPage(page: Page, name: string): Promise<void> {
  await page.locator('#heal').click();
  await expect
    .poll(() => page.locator('#demo-message').textContent(), { timeout: 10_000 })
    .toBe('healed every partition');
  const row = page.locator(`tr[data-node="${name}"]`);
  await expect.poll(() => row.getAttribute('data-fault'), { timeout: 10_000 }).toBe(null);
  await expect
    .poll(
      async () => {
        const leader = await page.locator('#leader').textContent();
        const leaderIndex = await page
          .locator(`tr[data-node="${leader}"] [data-field="lastIndex"]`)
          .textContent();
        return [
          await row.locator('[data-field="role"]').textContent(),
          await row.locator('[data-field="lagBehindLeader"]').textContent(),
          (await row.locator('[data-field="lastIndex"]').textContent()) === leaderIndex,
        ];
      },
      { timeout: 30_000 },
    )
    .toEqual(['follower', '0', true]);
}
