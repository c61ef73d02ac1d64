/** Following a `kv-node cluster` launcher a test started: its output, and ports for it. */

import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

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

/** Whether nothing listens on `port` of 127.0.0.1 now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * A `--base-port` whose every port is free: the dashboard (base - 1) and, per member, the client
 * port, the peer port (the proxy) and the port the member listens on behind it. Searched below
 * Linux's ephemeral range (32768 and up), where no outgoing connection can take one meanwhile.
 */
export async function freeBasePort(nodes: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20_001 + 10 * ((process.pid + 37 * attempt) % 1200);
    const ports = [base - 1];
    for (let index = 0; index < nodes; index++)
      ports.push(base + 10 * index, base + 10 * index + 1, base + 10 * index + 2);
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return base;
  }
  throw new Error('no free range of ports for the local cluster');
}
