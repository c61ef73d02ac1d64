import { SafetyViolationError } from './safety-violation-error.js';

/** The core's assertions (in the TigerBeetle manner: checked in production, at transitions). */
export type CoreInvariant =
  | 'applied-beyond-high-water-mark'
  | 'high-water-mark-beyond-last-index'
  | 'high-water-mark-moved-back'
  | 'generation-moved-back'
  | 'second-vote-in-generation'
  | 'truncation-below-high-water-mark'
  | 'leader-truncated-own-log'
  | 'configuration-changes-in-flight'
  | 'learner-counted';

/**
 * A core assertion failed: the server's state broke a rule no correct run can break (a bug, a
 * corrupted input, a broken driver). Fail-stop: the server must stop at once, never limp on with
 * state that can no longer be trusted. A {@link SafetyViolationError}, so a driver that stops on
 * those stops on these.
 */
export class InvariantViolation extends SafetyViolationError {
  override readonly name = 'InvariantViolation';

  constructor(
    /** Which assertion failed. */
    readonly invariant: CoreInvariant,
    detail: string,
  ) {
    super(`invariant ${invariant} violated: ${detail}`);
  }
}

/**
 * Throws an {@link InvariantViolation} unless `holds`.
 * @throws InvariantViolation when `holds` is false
 */
export function assertInvariant(
  holds: boolean,
  invariant: CoreInvariant,
  detail: () => string,
): void {
  if (!holds) throw new InvariantViolation(invariant, detail());
}
