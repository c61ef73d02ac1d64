/**
 * A client of etcd 3.4's member API on the JSON gateway (`POST /v3/cluster/member/*`), for the
 * local cluster launcher. It holds no credentials of its own: the `Authorization` it sends is the
 * one its caller was given, so with client auth on only an admin's token gets a change through,
 * exactly as when the admin calls the API directly.
 */

/** A member as `/v3/cluster/member/list` lists it (ids are decimal strings, as etcd sends). */
export interface ApiMember {
  readonly id: string;
  /** Empty for a member added but not started yet. */
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly isLearner: boolean;
}

/** The answer to a change: the member added (for `add`), the members and the cluster id. */
export interface MemberApiAnswer {
  readonly member?: ApiMember;
  readonly members: readonly ApiMember[];
  /** The cluster id, decimal. */
  readonly clusterId: string;
}

/** The cluster refused a change, in etcd's words (or the request failed as it says). */
export class MemberApiError extends Error {
  override readonly name = 'MemberApiError';
}

/** Options of {@link MemberApiClient}. */
export interface MemberApiClientOptions {
  /** Client URLs of the members to ask, read again at every attempt (members come and go). */
  endpoints(): readonly string[];
  /** `Authorization` header to send (an auth token), if the caller has one. */
  authorization?: string;
  /** Longest wait for one answer, ms (default 5000). */
  requestTimeoutMs?: number;
}

/** The refusals a later attempt may not meet: no leader yet, a member just connected, a timeout. */
const RETRYABLE =
  /unhealthy cluster|no leader|not leader|leader changed|timed out|timeout|shutting down|not available on this member/;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An id as JSON carries it: a decimal string (etcd's gateway), or a number from another encoder. */
function idText(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint'
    ? String(value)
    : '';
}

function memberOf(value: unknown): ApiMember {
  const fields = (value ?? {}) as Record<string, unknown>;
  return {
    id: idText(fields['ID']),
    name: typeof fields['name'] === 'string' ? fields['name'] : '',
    peerUrls: Array.isArray(fields['peerURLs']) ? (fields['peerURLs'] as string[]) : [],
    isLearner: fields['isLearner'] === true,
  };
}

/** See the file comment. */
export class MemberApiClient {
  readonly #options: MemberApiClientOptions;

  /** @param options where to send requests and with which `Authorization`. */
  constructor(options: MemberApiClientOptions) {
    this.#options = options;
  }

  /**
   * Sends one request to each endpoint in turn until one answers it, for up to `timeoutMs`: a
   * member that does not answer, or answers with a refusal a retry may get past, is tried again
   * 200 ms later.
   * @throws MemberApiError with etcd's message when the cluster refuses for another reason, or
   *   the last reason when nobody accepted in time.
   */
  async call(
    method: 'list' | 'add' | 'remove' | 'promote',
    body: unknown,
    timeoutMs: number,
  ): Promise<MemberApiAnswer> {
    const deadline = performance.now() + timeoutMs;
    let last = 'no running member to ask';
    for (;;) {
      for (const endpoint of this.#options.endpoints()) {
        try {
          return await this.#post(endpoint, method, body);
        } catch (error) {
          if (error instanceof MemberApiError && !RETRYABLE.test(error.message)) throw error;
          last = (error as Error).message;
        }
      }
      if (performance.now() > deadline) throw new MemberApiError(last);
      await sleep(200);
    }
  }

  async #post(endpoint: string, method: string, body: unknown): Promise<MemberApiAnswer> {
    const authorization = this.#options.authorization;
    const response = await fetch(new URL(`/v3/cluster/member/${method}`, endpoint), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(authorization === undefined ? {} : { authorization }),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.#options.requestTimeoutMs ?? 5000),
    });
    const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const message = answer['message'] ?? answer['error'];
      throw new MemberApiError(
        typeof message === 'string' ? message : `${endpoint}: HTTP ${response.status}`,
      );
    }
    const header = (answer['header'] ?? {}) as Record<string, unknown>;
    const members = Array.isArray(answer['members']) ? (answer['members'] as unknown[]) : [];
    return {
      ...(answer['member'] === undefined ? {} : { member: memberOf(answer['member']) }),
      members: members.map(memberOf),
      clusterId: idText(header['cluster_id']),
    };
  }
}
