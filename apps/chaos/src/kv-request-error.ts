/**
 * A client request that did not succeed. `definite` says whether it certainly had no effect
 * (refused connection, an error the server marks definite such as "no leader") or may still take
 * effect (timeout, lost connection, 504): histories record the former as `fail`, the latter as
 * `info`, never the other way round.
 */
export class KvRequestError extends Error {
  override readonly name = 'KvRequestError';

  constructor(
    message: string,
    /** True only when the request certainly had no effect and never will. */
    readonly definite: boolean,
    /** The HTTP status, if a response arrived. */
    readonly status?: number,
    /** The server's machine-readable reason or the socket error code. */
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** Whether `error` says the request certainly had no effect; anything unexpected is indeterminate. */
export function isDefiniteFailure(error: unknown): boolean {
  return error instanceof KvRequestError && error.definite;
}
