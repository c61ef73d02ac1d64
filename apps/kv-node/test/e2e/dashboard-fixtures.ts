/** Shared set-up for dashboard tests: the UI bundle built once per run, and HTTP helpers. */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { build } from 'tsup';
import { dashboardUiBuildOptions } from '../../ui/build-options.js';

/** Builds the browser bundle into a new temporary directory; returns it. */
export async function buildDashboardBundle(): Promise<string> {
  const directory = await mkdtemp(`${tmpdir()}/kv-dashboard-ui-`);
  await buildDashboardBundleInto(directory);
  return directory;
}

/** Builds the browser bundle (`app.js`, `app.css`) into `directory`. */
export async function buildDashboardBundleInto(directory: string): Promise<void> {
  await build(dashboardUiBuildOptions(directory));
}

/** Removes a directory made by {@link buildDashboardBundle}. */
export async function removeDirectory(directory: string | undefined): Promise<void> {
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
}

/** Reads the first `count` server-sent events of a stream (as their `data` lines, parsed). */
export async function readEvents(response: Response, count: number): Promise<unknown[]> {
  const body = response.body as ReadableStream<Uint8Array> | null;
  if (body === null) throw new Error('no body');
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const events: unknown[] = [];
  while (events.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = block
        .split('\n')
        .find((line) => line.startsWith('data: '))
        ?.slice('data: '.length);
      if (data !== undefined) events.push(JSON.parse(data));
    }
  }
  await reader.cancel();
  return events;
}
