/** A one-line description of anything thrown: an Error's message, or the value itself. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? typeof error;
  } catch {
    return typeof error;
  }
}

/** `error` if it is an Error, otherwise an Error describing it (for promise rejections). */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(describeError(error));
}
