/**
 * Splits one member's `perf record -g` samples into where a put's CPU goes (issue 26): reads
 * `perf script` output on stdin and prints, per part, the share of samples and, given the puts
 * the cluster served while perf recorded, microseconds of CPU per put.
 *
 *   perf record -g -F 499 -p <member pid> -o member.data -- sleep 12   # member run with --perf-basic-prof
 *   perf script -i member.data | node apps/kv-node/bench/perf-cpu-breakdown.ts --puts 49800 --hz 499
 *
 * A sample of a thread other than the main one goes to its thread (V8's background GC and
 * compiler threads, libuv's workers split into fdatasync and the rest). A main-thread sample goes
 * to garbage collection if a GC frame is on its stack, else to the part owning the frame nearest
 * the leaf (so a socket write made by the peer transport counts as the transport's), else to a
 * generic part (sockets, the event loop) or `other`.
 */

import { parseArgs } from 'node:util';

const parts: { name: string; frame: RegExp }[] = [
  { name: 'wal', frame: /packages\/wal\/dist|node:internal\/fs\/|FSReqPromise|node::fs::/ },
  { name: 'peer transport', frame: /packages\/transport-tcp\/dist/ },
  {
    name: 'kv-node store/apply',
    frame:
      /JS:\S+'(#insert|#put|#apply\w*|apply\w*|#commit\w*|put|#index\w*) file:\S+apps\/kv-node\/dist/,
  },
  { name: 'kv-node http/grpc handler (incl. forwarding)', frame: /apps\/kv-node\/dist/ },
  {
    name: 'leader-follower core',
    frame: /packages\/(leader-follower|high-water-mark|quorum)\/dist/,
  },
  { name: 'node http server', frame: /node:_http_|node::http_parser|llhttp/ },
];
const garbageCollection =
  /Heap::CollectGarbage|Scavenger|MarkCompactCollector|Heap::PerformGarbageCollection|IncrementalMarking|MinorMarkSweep/;
const genericParts: { name: string; frame: RegExp }[] = [
  {
    name: 'sockets (owner not on the stack)',
    frame:
      /node:net|stream_base_commons|node:internal\/streams|LibuvStreamWrap|StreamBase|uv__read|uv__write|tcp_|sock_/,
  },
  {
    name: 'event loop (epoll, timers)',
    frame: /uv__io_poll|epoll|uv__run_timers|node:internal\/timers/,
  },
];

function partOf(thread: string, frames: readonly string[]): string {
  if (thread === 'libuv-worker') {
    return frames.some((frame) => /fdatasync|fsync/.test(frame))
      ? 'thread libuv-worker: fdatasync'
      : 'thread libuv-worker: other (writes, ...)';
  }
  if (thread !== 'MainThread') return `thread ${thread}`;
  if (frames.some((frame) => garbageCollection.test(frame))) return 'gc (main thread)';
  for (const frame of frames) {
    const owner = parts.find((part) => part.frame.test(frame));
    if (owner) return owner.name;
  }
  const generic = genericParts.find((part) => frames.some((frame) => part.frame.test(frame)));
  return generic?.name ?? 'other';
}

const { values } = parseArgs({
  options: { puts: { type: 'string' }, hz: { type: 'string', default: '499' } },
});
const puts = values.puts === undefined ? undefined : Number(values.puts);
const millisPerSample = 1000 / Number(values.hz);

let input = '';
for await (const chunk of process.stdin) input += String(chunk);

const counts = new Map<string, number>();
let samples = 0;
// `perf script` prints a sample as a header line (thread name, pid, time, event) followed by one
// indented line per frame, leaf first, and a blank line.
for (const block of input.split(/\n\s*\n/)) {
  const lines = block.split('\n').filter((line) => line.trim() !== '');
  const header = lines[0];
  if (header === undefined || /^\s/.test(header)) continue;
  const thread = /^(.*?)\s+\d+\s+[\d.]+:/.exec(header)?.[1]?.trim() ?? header.split(/\s+/)[0]!;
  const part = partOf(
    thread,
    lines.slice(1).map((line) => line.trim()),
  );
  counts.set(part, (counts.get(part) ?? 0) + 1);
  samples++;
}

const cpuSeconds = (samples * millisPerSample) / 1000;
console.log(
  `samples ${samples}, CPU ${cpuSeconds.toFixed(2)} s` +
    (puts ? `, ${((cpuSeconds * 1e6) / puts).toFixed(1)} µs per put` : ''),
);
for (const [part, count] of [...counts].sort((a, b) => b[1] - a[1])) {
  const share = `${((100 * count) / samples).toFixed(1)}%`.padStart(6);
  const perPut = puts
    ? `  ${((count * millisPerSample * 1000) / puts).toFixed(1).padStart(6)} µs/put`
    : '';
  console.log(`  ${part.padEnd(46)} ${share}${perPut}`);
}
