// What each package README's example must do when a user runs it against the installed package
// (registry-release.test.ts). The examples themselves are read from the READMEs by
// docs/scripts/check-examples.mjs, the same reader that compiles them against the sources; here
// they are compiled against the installed declarations and run on the installed JavaScript.

/**
 * @typedef {object} ExampleExpectation
 * @property {'exit' | 'kill-9' | 'compile'} mode  `exit`: runs to its end; `kill-9`: runs until it
 *   prints, is killed with SIGKILL and run again (the WAL's own scenario); `compile`: only
 *   type-checked, with the reason in `why`
 * @property {RegExp[]} [prints]    what its output must contain
 * @property {number} [exitCode]    expected exit code (default 0)
 * @property {string} [why]         why a `compile` example is not run
 */

/**
 * Expectations by example id (`<README path as slug>-<n>`, the n-th complete example of that
 * README). An example of a published package's README with no entry here fails the test, so a
 * new example is never silently left out.
 *
 * @type {Record<string, ExampleExpectation>}
 */
export const README_EXAMPLES = {
  'packages-clocks-README-1': {
    mode: 'exit',
    prints: [/^true\n[0-9a-f]{20}\ntrue\nconcurrent\nafter$/m],
  },
  'packages-generation-clock-README-1': {
    mode: 'exit',
    prints: [
      /voted for cyrene: true/,
      /voted for byzantium too: false/,
      /reject, current generation is \d+/,
    ],
  },
  'packages-heartbeat-README-1': { mode: 'exit', prints: [/suspected: \[[^\]]*'cyrene'/] },
  'packages-heartbeat-README-2': { mode: 'exit' },
  'packages-high-water-mark-README-1': { mode: 'exit', prints: [/applied entry 3/, /unknown/] },
  'packages-leader-follower-README-1': {
    mode: 'compile',
    why: 'it is one member of a three-machine cluster (peers at 10.0.0.1-3); the assembled node runs in the `kv-node cluster` test',
  },
  // The example's history is deliberately not linearizable; it says so and sets exit code 1.
  'packages-linearizability-README-1': {
    mode: 'exit',
    prints: [/key "x": not linearizable/],
    exitCode: 1,
  },
  'packages-quorum-README-1': { mode: 'exit', prints: [/^2$/m, /Microservices/] },
  'packages-simulation-README-1': { mode: 'exit', prints: [/\S+ \d+/] },
  'packages-transport-tcp-README-1': {
    mode: 'exit',
    prints: [/one-way from n1: type 1, hello/, /11 PING/],
  },
  'packages-transport-tcp-README-2': {
    mode: 'compile',
    why: 'it asks a member of a running cluster (10.0.0.1); inquiries run in the transport tests and in kv-node joining a cluster',
  },
  'packages-wal-README-1': { mode: 'kill-9', prints: [/durable \d+/] },
  // It opens the log the first example wrote (or an empty one) and keeps what the scan handed out.
  'packages-wal-README-2': { mode: 'exit', prints: [/kept \d+ entries/] },
  'packages-wal-README-3': {
    mode: 'compile',
    why: 'it only builds a counting file system; the log runs through one in its own tests and benchmark',
  },
};
