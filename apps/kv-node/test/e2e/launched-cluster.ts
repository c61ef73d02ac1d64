/**
 * The set-up the end-to-end tests of `kv-node cluster` share: a CLI bundle with the dashboard's
 * bundle beside it, `kv-node cluster --nodes 3` launched on a free range of ports with a fresh
 * data directory, and Chromium. {@link LaunchedCluster.stop} kills, by pid, what
 * {@link LaunchedCluster.start} got as far as starting, so a failed start leaves nothing behind.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { freeBasePort } from '../../../../tools/net/free-port.js';
import { buildCli } from '../support/process-cluster.js';
import type { BrowserSession } from './chromium.js';
import { openBrowser } from './chromium.js';
import { buildDashboardBundleInto, removeDirectory } from './dashboard-fixtures.js';
import { waitForOutput } from './launcher-output.js';
import { killPids, pidsWithArgument } from './process-tools.js';

/** How a test file's launcher is set up. */
export interface LaunchedClusterOptions {
  /** Names the test's CLI bundle and data directory, so parallel files never share them. */
  label: string;
  /** Member slots the range of ports must hold: the three launched and any the test adds. */
  portSlots: number;
}

/** A `kv-node cluster --nodes 3` launcher (with its dashboard) and a browser, for one test file. */
export class LaunchedCluster {
  /** Where the CLI bundle (`cli.js`, with the page's bundle in `ui/`) was built. */
  cliDirectory: string | undefined;
  /** The launcher's `--data-dir`. */
  dataDirectory: string | undefined;
  /** The launcher's `--base-port`: member `n`'s client port is `basePort + 10 * (n - 1)`. */
  basePort = 0;
  /** The launcher process. */
  launcher: ChildProcess | undefined;
  /** The browser the dashboard is opened in. */
  browser: BrowserSession | undefined;
  /** Everything the launcher printed, stdout and stderr, in arrival order. */
  readonly output: string[] = [];

  constructor(private readonly options: LaunchedClusterOptions) {}

  /** Builds the bundles, launches the cluster and opens the browser (call in `beforeAll`). */
  async start(): Promise<void> {
    const { label, portSlots } = this.options;
    this.cliDirectory = new URL(
      `../../dist-bench/${label}-e2e-${process.pid}`,
      import.meta.url,
    ).pathname;
    // The CLI bundle finds the page's bundle in ./ui/ next to itself, as dist/cli.js finds dist/ui/.
    await Promise.all([
      buildCli(this.cliDirectory),
      buildDashboardBundleInto(`${this.cliDirectory}/ui`),
    ]);
    this.dataDirectory = await mkdtemp(`${tmpdir()}/kv-${label}-data-`);
    this.basePort = await freeBasePort(portSlots);
    const launcher = spawn(
      process.execPath,
      [
        `${this.cliDirectory}/cli.js`,
        'cluster',
        '--nodes',
        '3',
        '--base-port',
        String(this.basePort),
        '--data-dir',
        this.dataDirectory,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.launcher = launcher;
    launcher.stdout?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    launcher.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.browser = await openBrowser();
  }

  /** Waits until the launcher prints the dashboard's URL; resolves with it. */
  async dashboardUrl(): Promise<string> {
    if (this.launcher === undefined) throw new Error('the cluster was not started');
    const [, url] = await waitForOutput(
      this.launcher,
      this.output,
      /Dashboard: (http:\/\/\S+\/ui\/)/,
      60_000,
    );
    return url!;
  }

  /** Closes the browser, kills the launcher and its members, removes the directories. */
  async stop(): Promise<void> {
    await this.browser?.close();
    const launcher = this.launcher;
    if (launcher?.pid !== undefined && launcher.exitCode === null) {
      const exited = new Promise((resolve) => launcher.once('exit', resolve));
      process.kill(launcher.pid, 'SIGKILL');
      await exited;
    }
    // The members are the launcher's children: find them by their data directory.
    if (this.dataDirectory !== undefined) killPids(await pidsWithArgument(this.dataDirectory));
    await removeDirectory(this.dataDirectory);
    await removeDirectory(this.cliDirectory);
  }
}
