/** A {@link DemoControl} over process ids: kill, pause and resume are signals. */

import type { DemoControl } from './demo-control.js';

/** Options of {@link createSignalDemoControl}. */
export interface SignalDemoControlOptions {
  /** The pid of the member's running process, or `undefined` when it is not running. */
  pidOf(name: string): number | undefined;
  /** Starts the member's process again (the launcher knows its flags). */
  restart(name: string): Promise<void>;
  /** Cuts the member off from its peers; omitted when the launcher cannot. */
  partition?(name: string): Promise<void>;
  /** Ends every partition; omitted when the launcher cannot partition. */
  heal?(): Promise<void>;
  /** Sends a signal to a pid (default `process.kill`; injected by tests). */
  signal?: (pid: number, signal: NodeJS.Signals) => void;
}

const PARTITION_UNSUPPORTED =
  'partition is not available: this launcher has no proxy on the peer links to cut';

/**
 * A demo control that sends SIGKILL (kill), SIGSTOP (pause) and SIGCONT (resume) to a member's
 * pid, and delegates restart and partition to the launcher. Actions on a member that is not
 * running reject with a message saying so.
 */
export function createSignalDemoControl(options: SignalDemoControlOptions): DemoControl {
  const signal = options.signal ?? ((pid, name) => void process.kill(pid, name));
  const send = (name: string, signalName: NodeJS.Signals): Promise<void> => {
    const pid = options.pidOf(name);
    if (pid === undefined) return Promise.reject(new Error(`${name} is not running`));
    try {
      signal(pid, signalName);
    } catch (error) {
      return Promise.reject(
        new Error(`${name} (pid ${pid}): ${signalName} failed: ${(error as Error).message}`),
      );
    }
    return Promise.resolve();
  };
  return {
    kill: (name) => send(name, 'SIGKILL'),
    restart: (name) => options.restart(name),
    pause: (name) => send(name, 'SIGSTOP'),
    resume: (name) => send(name, 'SIGCONT'),
    partition: (name) =>
      options.partition === undefined
        ? Promise.reject(new Error(PARTITION_UNSUPPORTED))
        : options.partition(name),
    heal: () =>
      options.heal === undefined
        ? Promise.reject(new Error(PARTITION_UNSUPPORTED))
        : options.heal(),
  };
}
