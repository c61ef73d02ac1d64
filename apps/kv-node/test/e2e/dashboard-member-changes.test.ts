/**
 * Issue 21's "`kv-node cluster` and the dashboard can add, remove and replace members of the
 * local cluster", with real processes: `kv-node cluster --nodes 3` runs; `kv-node cluster add`
 * (another process) adds a fourth member; in Chromium the leader is replaced from its row (removed,
 * its data deleted, a fresh fifth member added, caught up and promoted); then client auth is
 * enabled and the dashboard's remove is refused by the member API (the launcher holds no
 * credentials), while `kv-node cluster remove --token <admin token>` goes through. Every write
 * made before is readable at the end from every member, and removed members run no more.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaderShown } from './failover-flow.js';
import { LaunchedCluster } from './launched-cluster.js';

const run = promisify(execFile);

interface ListedMember {
  ID: string;
  name: string;
  isLearner?: boolean;
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function memberList(clientUrl: string): Promise<ListedMember[]> {
  const answer = await postJson(`${clientUrl}/v3/cluster/member/list`, {});
  return answer.body['members'] as ListedMember[];
}

describe('membership changes of `kv-node cluster` from its CLI and its dashboard', () => {
  // Slots for the three members, the one added and the replacement.
  const cluster = new LaunchedCluster({ label: 'member-changes', portSlots: 5 });
  beforeAll(() => cluster.start(), 120_000);
  afterAll(() => cluster.stop());
  const clientUrlOf = (slot: number): string =>
    `http://127.0.0.1:${cluster.basePort + 10 * (slot - 1)}`;

  /** `kv-node cluster <args>` against this test's launcher; resolves with its exit code and output. */
  async function clusterCommand(...args: string[]) {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        [
          `${cluster.cliDirectory}/cli.js`,
          'cluster',
          ...args,
          '--base-port',
          String(cluster.basePort),
        ],
        { timeout: 180_000 },
      );
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  }

  it('adds with the CLI, replaces the leader from the page, and keeps removal behind auth', async () => {
    const dashboardUrl = await cluster.dashboardUrl();
    for (let index = 0; index < 20; index++) {
      const response = await fetch(`${clientUrlOf(1)}/v1/kv/before-${index}`, {
        method: 'PUT',
        body: String(index),
        signal: AbortSignal.timeout(10_000),
      });
      expect(response.ok).toBe(true);
    }

    const added = await clusterCommand('add');
    expect(added, added.stderr).toMatchObject({ code: 0 });
    expect(added.stdout).toContain('node-4 added: it caught up as a learner and was promoted');
    const afterAdd = await memberList(clientUrlOf(1));
    expect(afterAdd.map((member) => member.name).sort()).toEqual([
      'node-1',
      'node-2',
      'node-3',
      'node-4',
    ]);
    expect(afterAdd.some((member) => member.isLearner === true)).toBe(false);

    const page = cluster.browser!.page;
    await page.goto(dashboardUrl);
    await expect
      .poll(() => page.locator('tr[data-node="node-4"] [data-field="role"]').textContent(), {
        timeout: 20_000,
      })
      .toBe('follower');
    const leader = await leaderShown(page);
    const replacedId = afterAdd.find((member) => member.name === leader)?.ID;
    await page.locator(`button[data-member-action="replace"][data-node="${leader}"]`).click();
    // The replacement is a new member (a fresh member id, an empty data directory) under the
    // replaced one's name, ports and peer URL.
    await expect
      .poll(() => page.locator('#demo-message').textContent(), { timeout: 150_000 })
      .toMatch(
        new RegExp(
          `^${leader} removed .*; ${leader} added: it caught up as a learner and was promoted`,
        ),
      );
    expect(await page.locator('#demo-message').getAttribute('data-ok')).toBe('true');
    await expect
      .poll(() => page.locator(`tr[data-node="${leader}"] [data-field="role"]`).textContent(), {
        timeout: 20_000,
      })
      .toMatch(/^(leader|follower)$/);
    const remaining = ['node-1', 'node-2', 'node-3', 'node-4'];
    const first = clientUrlOf(1);
    const afterReplace = await memberList(first);
    expect(afterReplace.map((member) => member.name).sort()).toEqual(remaining);
    const replacement = afterReplace.find((member) => member.name === leader);
    expect(replacement?.ID).not.toBe(replacedId);
    expect(replacement?.isLearner === true).toBe(false);

    // With client auth on, the launcher's buttons are only as strong as the caller's token.
    const password = 'a long root secret';
    expect((await postJson(`${first}/v3/auth/user/add`, { name: 'root', password })).status).toBe(
      200,
    );
    expect(
      (await postJson(`${first}/v3/auth/user/grant`, { user: 'root', role: 'root' })).status,
    ).toBe(200);
    expect((await postJson(`${first}/v3/auth/enable`, {})).status).toBe(200);
    const victim = remaining[1]!;
    await page.locator(`button[data-member-action="remove"][data-node="${victim}"]`).click();
    await expect
      .poll(() => page.locator('#demo-message').getAttribute('data-ok'), { timeout: 60_000 })
      .toBe('false');
    expect(await page.locator('#demo-message').textContent()).toMatch(
      /user name is empty|permission denied|token/i,
    );
    expect((await memberList(first)).map((member) => member.name)).toContain(victim);

    const token = (await postJson(`${first}/v3/auth/authenticate`, { name: 'root', password }))
      .body['token'] as string;
    const removed = await clusterCommand('remove', victim, '--token', token);
    expect(removed, removed.stderr).toMatchObject({ code: 0 });
    expect(removed.stdout).toContain(`${victim} removed (it stopped by itself`);
    const finalMembers = remaining.filter((name) => name !== victim);
    expect((await memberList(first)).map((member) => member.name).sort()).toEqual(finalMembers);

    for (const name of finalMembers) {
      const url = clientUrlOf(Number(name.slice('node-'.length)));
      for (let index = 0; index < 20; index++) {
        const response = await fetch(`${url}/v1/kv/before-${index}`, {
          headers: { authorization: token },
          signal: AbortSignal.timeout(10_000),
        });
        expect(response.status, `${name} before-${index}`).toBe(200);
        expect(await response.text()).toBe(String(index));
      }
    }
    // A member's own dashboard offers no member changes: it cannot start or stop processes.
    const onMember = await postJson(`${first}/ui/api/members/add`, {});
    expect(onMember.status).toBe(404);
    // The one refusal above, which the browser logs as a failed request; nothing else.
    expect(cluster.browser!.errors).toEqual([
      'Failed to load resource: the server responded with a status of 409 (Conflict)',
    ]);
  }, 400_000);
});
