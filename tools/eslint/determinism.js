// The determinism rule of DESIGN.md §4: package code reaches time, timers, randomness, files and
// sockets only through ports. Only adapter files (named for what they adapt) and tests may touch
// the real thing. Kept in its own module so the lint test can load exactly this block.

/** Files inside packages/*\/src that may touch real time, files and sockets. */
export const adapterFiles = [
  'packages/*/src/**/node-*.ts',
  'packages/*/src/**/tcp-*.ts',
  'packages/*/src/**/*-adapter.ts',
  'packages/*/src/**/*.test.ts',
  'packages/*/src/**/*.bench.ts',
];

const timeAndTimers = [
  'Date',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'clearImmediate',
  'performance',
];

const message =
  'reach it through a port (DESIGN.md §4); only adapter files (node-*.ts, tcp-*.ts, *-adapter.ts) may use it';

const ioModules = [
  'fs',
  'fs/promises',
  'net',
  'tls',
  'dgram',
  'perf_hooks',
  'timers',
  'timers/promises',
  'child_process',
];

/**
 * The flat-config block that enforces the rule.
 * @type {import('eslint').Linter.Config}
 */
export const determinismConfig = {
  name: 'x/determinism',
  files: ['packages/*/src/**/*.ts'],
  ignores: adapterFiles,
  rules: {
    'no-restricted-globals': [
      'error',
      ...timeAndTimers.map((name) => ({ name, message: `${name}: ${message}` })),
    ],
    'no-restricted-properties': [
      'error',
      { object: 'Math', property: 'random', message: `Math.random: ${message}` },
      { object: 'process', property: 'hrtime', message: `process.hrtime: ${message}` },
      { object: 'globalThis', property: 'Date', message: `Date: ${message}` },
      { object: 'globalThis', property: 'setTimeout', message: `setTimeout: ${message}` },
    ],
    'no-restricted-imports': [
      'error',
      {
        paths: ioModules.flatMap((name) => [
          { name, message: `${name}: ${message}` },
          { name: `node:${name}`, message: `node:${name}: ${message}` },
        ]),
      },
    ],
  },
};
