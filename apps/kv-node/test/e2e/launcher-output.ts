/** Following a `kv-node cluster` launcher a test started: its output. */

import type { ChildProcess } from 'node:child_process';

/** Waits until `pattern` matches the launcher's output so far; resolves with the match. */
export function waitForOutput(
  child: ChildProcess,
  output: string[],
  pattern: RegExp,
  timeoutMs: number,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const match = pattern.exec(output.join(''));
      if (match === null) return false;
      cleanup();
      resolve(match);
      return true;
    };
    const onData = (): void => void check();
    const onExit = (): void => {
      cleanup();
      reject(new Error(`kv-node cluster exited:\n${output.join('')}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${String(pattern)} in the output:\n${output.join('')}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    check();
  });
}
