// etcd 3.4's member API over its JSON gateway (`POST /v3/cluster/member/*`), shared by the pod's
// membership steps (member-start.mjs, member-leave.mjs). Dependency-free: it runs in the image.

/** The cluster answered, and refused: a definite error in etcd's words. */
export class MemberApiError extends Error {
  name = 'MemberApiError';
}

/** No endpoint answered at all. */
export class ClusterUnreachableError extends Error {
  name = 'ClusterUnreachableError';
}

/**
 * Calls `/v3/cluster/member/<method>` on the first endpoint that answers. A refusal is final
 * (MemberApiError); an endpoint that does not answer is skipped for the next.
 */
export async function memberCall(endpoints, method, body = {}) {
  const failures = [];
  for (const endpoint of endpoints) {
    let response;
    try {
      response = await fetch(new URL(`/v3/cluster/member/${method}`, endpoint), {
        method: 'POST',
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
    } catch (error) {
      failures.push(`${endpoint}: ${error.cause?.code ?? error.message}`);
      continue;
    }
    const answer = await response.json().catch(() => ({}));
    if (response.ok) return answer;
    // Unavailable (no leader, a member just started) or a learner, which serves no member
    // changes: another member may answer.
    if (
      answer.code === 14 ||
      response.status === 503 ||
      /not supported for learner/.test(answer.message ?? '')
    ) {
      failures.push(`${endpoint}: ${answer.message ?? response.status}`);
      continue;
    }
    throw new MemberApiError(answer.message ?? `${endpoint}: HTTP ${response.status}`);
  }
  throw new ClusterUnreachableError(failures.join('; '));
}

/** Retries `attempt` every second while it throws ClusterUnreachableError, for `seconds`. */
export async function whileUnreachable(seconds, attempt) {
  for (let round = 1; ; round++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ClusterUnreachableError) || round >= seconds) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** The members as the cluster lists them: `{ ID, name, peerURLs, clientURLs, isLearner }`. */
export async function listMembers(endpoints) {
  const answer = await memberCall(endpoints, 'list');
  return (answer.members ?? []).map((member) => ({
    ID: member.ID,
    name: member.name ?? '',
    peerURLs: member.peerURLs ?? [],
    clientURLs: member.clientURLs ?? [],
    isLearner: member.isLearner === true,
  }));
}

/**
 * The member settings the pod's environment gives: kv-node's `KV_NODE_*` variables, or etcd's
 * `ETCD_*` (kv-node reads both; the steps write back under the prefix they found).
 */
export function memberSettings(env = process.env) {
  const prefix = env.KV_NODE_NAME !== undefined ? 'KV_NODE_' : 'ETCD_';
  const read = (name) => env[`${prefix}${name}`];
  const name = read('NAME');
  const peerUrl = (read('INITIAL_ADVERTISE_PEER_URLS') ?? '').split(',')[0].trim();
  if (name === undefined || peerUrl === '') {
    throw new Error(`${prefix}NAME and ${prefix}INITIAL_ADVERTISE_PEER_URLS must be set`);
  }
  const endpoints = (env.KV_MEMBER_ENDPOINTS ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  if (endpoints.length === 0) throw new Error('KV_MEMBER_ENDPOINTS must list client URLs');
  return {
    prefix,
    name,
    peerUrl,
    listenPeerUrl: (read('LISTEN_PEER_URLS') ?? peerUrl).split(',')[0].trim(),
    dataDir: read('DATA_DIR') ?? (prefix === 'KV_NODE_' ? `${name}.kv` : `${name}.etcd`),
    initialCluster: read('INITIAL_CLUSTER') ?? '',
    endpoints,
  };
}

/** Writes one line for the pod's log, marked with the step's name. */
export function logLine(step, message) {
  process.stderr.write(
    `${JSON.stringify({ level: 'info', time: new Date().toISOString(), step, msg: message })}\n`,
  );
}
