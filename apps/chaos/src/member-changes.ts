/**
 * Membership changes through etcd 3.4's member API (`POST /v3/cluster/member/*`, the JSON
 * gateway), for the faults that replace a member or shrink and grow the cluster. Each change is
 * sent to the given members in turn and retried while the cluster answers "unavailable" (no
 * leader yet, a member just connected); a refusal in other words is final.
 */

/** A member as `/v3/cluster/member/list` lists it (ids are decimal strings, as etcd sends). */
export interface ListedMember {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly isLearner: boolean;
}

/** The cluster refused a change (its message is etcd's). */
export class MemberChangeRefused extends Error {
  override readonly name = 'MemberChangeRefused';
}

const retryableMessage =
  /unhealthy cluster|no leader|leader changed|timed out|not supported for learner/;

async function post(
  endpoint: string,
  method: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(new URL(`/v3/cluster/member/${method}`, endpoint), {
    method: 'POST',
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.ok) return answer;
  const message = typeof answer.message === 'string' ? answer.message : `HTTP ${response.status}`;
  throw new MemberChangeRefused(message);
}

/**
 * Sends `method` to each endpoint in turn until one accepts, for up to `timeoutMs`: a member that
 * does not answer, or answers "unavailable", is tried again later.
 * @throws MemberChangeRefused when the cluster refuses the change for another reason.
 * @throws Error when no member accepted it in time.
 */
export async function changeMembership(
  endpoints: readonly string[],
  method: 'list' | 'add' | 'remove' | 'promote',
  body: unknown,
  timeoutMs = 15_000,
): Promise<Record<string, unknown>> {
  const deadline = performance.now() + timeoutMs;
  let last = 'no member tried';
  for (;;) {
    for (const endpoint of endpoints) {
      try {
        return await post(endpoint, method, body);
      } catch (error) {
        if (error instanceof MemberChangeRefused && !retryableMessage.test(error.message)) {
          throw error;
        }
        last = `${endpoint}: ${(error as Error).message}`;
      }
    }
    if (performance.now() > deadline) {
      throw new Error(`member ${method} not accepted within ${timeoutMs} ms (${last})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The members the cluster lists, asked of the first endpoint that answers. */
export async function listMembers(endpoints: readonly string[]): Promise<ListedMember[]> {
  const answer = await changeMembership(endpoints, 'list', {});
  const members = (answer.members ?? []) as {
    ID?: string;
    name?: string;
    peerURLs?: string[];
    isLearner?: boolean;
  }[];
  return members.map((member) => ({
    id: member.ID ?? '',
    name: member.name ?? '',
    peerUrls: member.peerURLs ?? [],
    isLearner: member.isLearner === true,
  }));
}

/**
 * Promotes the learner with peer URL `peerUrl` once the cluster accepts it (it refuses until the
 * learner has caught up with the leader), for up to `timeoutMs`.
 * @throws Error if it is still a learner after `timeoutMs`.
 */
export async function promoteWhenCaughtUp(
  endpoints: readonly string[],
  peerUrl: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  while (performance.now() < deadline) {
    const self = (await listMembers(endpoints)).find((member) => member.peerUrls.includes(peerUrl));
    if (self === undefined) throw new Error(`no member with peer URL ${peerUrl}`);
    if (!self.isLearner) return;
    try {
      await changeMembership(endpoints, 'promote', { ID: self.id }, 2000);
      return;
    } catch (error) {
      // "can only promote a learner member which is in sync with leader": not caught up yet.
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`learner ${peerUrl} not promoted within ${timeoutMs} ms (${last})`);
}
