// Real event-loop turns for tests that drive a node by hand (an adapter file: it uses setImmediate).

/** Lets promise chains and in-memory disk operations run to completion. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** One real event-loop turn: every promise reaction queued before it has run. */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
