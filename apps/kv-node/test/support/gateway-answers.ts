/**
 * What the compatibility suites compare when kv-node's JSON gateway and a real etcd answer the
 * same requests: answers without what differs by design, and the lines of a streamed answer (a
 * watch, an election observe).
 */

/**
 * An answer without what differs by design (cluster and member ids, the term); an error keeps only
 * etcd's own error fields (`error` and `code`).
 */
export function comparableAnswer(status: number, body: Record<string, unknown>): unknown {
  const withoutIds = JSON.parse(
    JSON.stringify(body, (key, value: unknown) =>
      ['cluster_id', 'member_id', 'raft_term'].includes(key) ? undefined : value,
    ),
  ) as Record<string, unknown>;
  return {
    status,
    body:
      typeof withoutIds.error === 'string'
        ? { error: withoutIds.error, code: withoutIds.code }
        : withoutIds,
  };
}

/**
 * Reads a streamed answer's newline-delimited JSON: each call resolves with the next line, parsed,
 * and rejects once the stream ends (`what` names the stream in that error).
 */
export function jsonLinesOf(response: Promise<Response>, what: string): () => Promise<unknown> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const decoder = new TextDecoder();
  let buffered = '';
  return async () => {
    reader ??= ((await response).body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const newline = buffered.indexOf('\n');
      if (newline >= 0) {
        const text = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        return JSON.parse(text) as unknown;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`${what} ended; buffered: ${buffered}`);
      buffered += decoder.decode(value, { stream: true });
    }
  };
}
