/**
 * A flame graph of kv-node's leader under put at 64 clients: starts 3 members on loopback with
 * `node --cpu-prof` (run `pnpm build` first), finds the leader, drives kv-bench's put workload at
 * 64 clients over the JSON gateway (every member's endpoint; followers forward to the leader, as
 * in `pnpm bench:etcd`), checks the leader did not change, stops the members with SIGTERM so V8
 * writes their profiles, and draws the leader's profile as an SVG (`flame-graph.ts`).
 *
 *   pnpm --filter @x/kv-node run bench:flame-graph
 *
 * Environment: SECONDS_PER_RUN (default 20), BASE_PORT (default 44379), FLAME_GRAPH_SVG (where the
 * SVG goes; default docs/pictures/kv-node-leader-put-64-flame-graph.svg in the repository),
 * KEEP_PROFILE (a path to copy the leader's .cpuprofile to). Output: one JSON object on stdout
 * (the run's kv-bench result, the profile's sample counts, the top functions by self time).
 *
 * The profile covers the member's whole life; only the samples taken during the run are drawn
 * (their times and this script's `process.hrtime` read the same monotonic clock). Idle samples
 * are left out of the picture; the caption states their share.
 */

import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { kvNodeSystem, startBenchCluster } from './bench-cluster.js';
import type { CpuProfile, ProfileWindow } from './cpuprofile-flame-graph.js';
import { flameGraphSvg, flameTreeOf, topSelfFrames } from './cpuprofile-flame-graph.js';

const run = promisify(execFile);
const seconds = process.env.SECONDS_PER_RUN ?? '20';
const kvNodeCli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const benchScript = fileURLToPath(new URL('./kv-bench.js', import.meta.url));
const output =
  process.env.FLAME_GRAPH_SVG ??
  fileURLToPath(
    new URL('../../../docs/pictures/kv-node-leader-put-64-flame-graph.svg', import.meta.url),
  );

/** The leader's name as member `m0` reports it (`/v1/cluster`). */
async function leaderName(clientUrl: string): Promise<string> {
  const status = (await (await fetch(`${clientUrl}/v1/cluster`)).json()) as {
    members: { name: string; role: string }[];
  };
  const leader = status.members.find((member) => member.role === 'leader');
  if (leader === undefined) throw new Error('no leader known to m0');
  return leader.name;
}

const profiles = await mkdtemp(`${tmpdir()}/kv-flame-graph-`);
try {
  const system = kvNodeSystem(kvNodeCli, ['--cpu-prof', `--cpu-prof-dir=${profiles}`], 'leader');
  const cluster = await startBenchCluster(system, Number(process.env.BASE_PORT ?? 44379));
  let leader: string;
  let bench: unknown;
  let runWindow: ProfileWindow;
  try {
    leader = await leaderName(cluster.clientUrls[0]!);
    // The monotonic clock the members' profiles are stamped with (V8 and libuv both read it).
    const startUs = Number(process.hrtime.bigint() / 1000n);
    const { stdout } = await run(process.execPath, [
      benchScript,
      '--endpoints',
      cluster.clientUrls.join(','),
      '--workload',
      'put',
      '--clients',
      '64',
      '--duration',
      seconds,
      '--value-size',
      '100',
    ]);
    runWindow = { startUs, endUs: Number(process.hrtime.bigint() / 1000n) };
    bench = JSON.parse(stdout);
    const after = await leaderName(cluster.clientUrls[0]!);
    if (after !== leader)
      throw new Error(`the leader changed during the run: ${leader} → ${after}`);
  } finally {
    // SIGTERM: a member killed outright writes no profile.
    await cluster.stop(true);
  }
  const pid = cluster.children[Number(leader.slice(1))]!.pid;
  const file = (await readdir(profiles)).find((name) => name.includes(`.${pid}.`));
  if (file === undefined) throw new Error(`no profile written by the leader (pid ${pid})`);
  if (process.env.KEEP_PROFILE !== undefined) {
    await copyFile(`${profiles}/${file}`, process.env.KEEP_PROFILE);
  }
  const profile = JSON.parse(await readFile(`${profiles}/${file}`, 'utf8')) as CpuProfile;
  if (runWindow.startUs < profile.startTime || runWindow.endUs > profile.endTime) {
    throw new Error('the run is not within the leader profile: the two clocks differ');
  }
  // Only the run: the start-up (module loading, the election) is left out.
  const tree = flameTreeOf(profile, runWindow);
  const busyMs = Math.round(tree.root.samples * tree.sampleIntervalMs);
  const idle = Math.round((100 * tree.idleSamples) / Math.max(1, tree.totalSamples));
  await mkdir(dirname(output), { recursive: true });
  await writeFile(
    output,
    flameGraphSvg(tree, {
      title: `kv-node leader, put at 64 clients over the JSON gateway (${seconds} s, 3 members on loopback)`,
      subtitle:
        `node --cpu-prof of the leader's main thread during the run: ${(busyMs / 1000).toFixed(1)} s of ` +
        `non-idle samples drawn (${idle}% of the samples idle, left out); boxes under 0.2% of the drawn samples omitted`,
    }),
  );
  console.log(
    JSON.stringify({
      output,
      leader,
      node: process.version,
      cpus: cpus().length,
      loadAverage: loadavg().map((load) => Math.round(load * 100) / 100),
      bench,
      // Microseconds of the monotonic clock, as in the profile: enough to draw the same window again.
      runWindowUs: runWindow,
      samples: tree.totalSamples,
      idleSamples: tree.idleSamples,
      sampleIntervalMs: Math.round(tree.sampleIntervalMs * 1000) / 1000,
      topSelf: topSelfFrames(tree, 15).map((frame) => ({
        ...frame,
        share: Math.round((1000 * frame.selfSamples) / Math.max(1, tree.root.samples)) / 10,
      })),
    }),
  );
} finally {
  await rm(profiles, { recursive: true, force: true });
}
