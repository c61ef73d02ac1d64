/**
 * Thrown by the core when an input would break a safety rule that a correct cluster can never
 * break (for example, a conflict at or below the high-water mark). The server must stop: its
 * state can no longer be trusted.
 */
export class SafetyViolationError extends Error {
  override readonly name: string = 'SafetyViolationError';
}
