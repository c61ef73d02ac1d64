/** What the dashboard's demo buttons do, implemented by whoever owns the node processes. */

/**
 * Fault injection on the members of a local cluster, for the dashboard's demo mode
 * (`kv-node cluster`). Every method resolves once the action is done (the signal sent, the
 * process started) and rejects with an `Error` whose message the page shows, e.g. for an unknown
 * member or an action the launcher cannot perform.
 */
export interface DemoControl {
  /** Kills the member's process at once (SIGKILL): a crash, nothing flushed. */
  kill(name: string): Promise<void>;
  /** Starts the member again on its data directory (after a kill), or kills and restarts it. */
  restart(name: string): Promise<void>;
  /** Freezes the member (SIGSTOP), like a long GC pause: it keeps its sockets but answers nothing. */
  pause(name: string): Promise<void>;
  /** Wakes a paused member (SIGCONT). */
  resume(name: string): Promise<void>;
  /** Cuts the member off from its peers (clients may still reach it). */
  partition(name: string): Promise<void>;
  /** Ends every partition. */
  heal(): Promise<void>;
}
