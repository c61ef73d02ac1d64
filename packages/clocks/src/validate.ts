/** The longest node id accepted, in UTF-16 code units: ids travel in every version vector. */
export const MAX_NODE_ID_LENGTH = 255;

/** Throws a RangeError unless `value` is a safe integer between 0 and `maximum`. */
export function requireCount(name: string, value: number, maximum = Number.MAX_SAFE_INTEGER): void {
  if (!(Number.isSafeInteger(value) && value >= 0 && value <= maximum)) {
    throw new RangeError(`${name} must be an integer from 0 to ${maximum}, got ${String(value)}`);
  }
}

/** Why `node` is not a valid node id, or `undefined` if it is. */
export function nodeIdProblem(node: unknown): string | undefined {
  if (typeof node !== 'string') return `a node id must be a string, got ${typeof node}`;
  if (node.length === 0) return 'a node id must not be empty';
  if (node.length > MAX_NODE_ID_LENGTH) {
    return `a node id must be at most ${MAX_NODE_ID_LENGTH} characters, got ${node.length}`;
  }
  return undefined;
}

/** Throws a RangeError unless `node` is a non-empty string of at most {@link MAX_NODE_ID_LENGTH}. */
export function requireNodeId(node: string): void {
  const problem = nodeIdProblem(node);
  if (problem !== undefined) throw new RangeError(problem);
}
