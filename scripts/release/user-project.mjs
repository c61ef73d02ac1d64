// A user's project outside the workspace, for the registry release test: an empty folder that
// installs `@x/*` from the local registry (and everything else from the usual registry), as
// someone cherry-picking one package would, then compiles and runs that package's README example.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repositoryRoot } from './published-packages.mjs';
import { runCommand } from './run-command.mjs';

const require = createRequire(join(repositoryRoot, 'package.json'));
const tsc = require.resolve('typescript/bin/tsc');
const typesNodeVersion = /** @type {{ version: string }} */ (require('@types/node/package.json'))
  .version;

/**
 * Creates `directory` as a new ESM project whose `.npmrc` sends `@x/*` to the local registry and
 * installs `specs` (e.g. `@x/wal@0.1.0`) with npm.
 *
 * @param {string} directory
 * @param {string} registryUrl
 * @param {string[]} specs
 * @returns {Promise<string[]>} problems, empty when the install succeeded
 */
export async function createUserProject(directory, registryUrl, specs) {
  mkdirSync(directory, { recursive: true });
  writeFileSync(
    join(directory, 'package.json'),
    `${JSON.stringify({ name: 'user-project', private: true, type: 'module' }, null, 2)}\n`,
  );
  writeFileSync(join(directory, '.npmrc'), `@x:registry=${registryUrl}\n`);
  const install = await runCommand(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
      ...specs,
      `@types/node@${typesNodeVersion}`,
    ],
    { cwd: directory },
  );
  return install.status === 0 ? [] : [`npm install exited ${install.status}:\n${install.output}`];
}

/**
 * Writes examples as `<id>.ts` and compiles them with the workspace's TypeScript against the
 * project's installed packages (declarations from node_modules, not the workspace sources).
 *
 * @param {string} directory
 * @param {{ id: string, code: string }[]} examples
 * @returns {Promise<string[]>} problems, empty when they compiled
 */
export async function compileExamples(directory, examples) {
  for (const example of examples) {
    writeFileSync(join(directory, `${example.id}.ts`), `${example.code}\nexport {};\n`);
  }
  writeFileSync(
    join(directory, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        skipLibCheck: true,
        noEmitOnError: true,
        types: ['node'],
        outDir: 'out',
        rootDir: '.',
      },
      files: examples.map((example) => `${example.id}.ts`),
    }),
  );
  const compile = await runCommand(process.execPath, [tsc, '-p', 'tsconfig.json'], {
    cwd: directory,
  });
  return compile.status === 0 ? [] : [`tsc failed:\n${compile.output}`];
}

/**
 * @typedef {object} StartedProcess
 * @property {number} pid
 * @property {() => string} output     stdout and stderr so far
 * @property {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} exited
 * @property {(pattern: RegExp, timeoutMs: number) => Promise<RegExpMatchArray>} waitFor
 *   resolves with the first match of `pattern` in the output; rejects, with the output, if the
 *   process exits or `timeoutMs` passes first
 */

/**
 * Starts a process with its output collected. With `group`, it leads a new process group, so
 * the caller can signal it and everything it started (`process.kill(-pid, ...)`).
 *
 * @param {string} program
 * @param {string[]} args
 * @param {{ cwd: string, group?: boolean }} options
 * @returns {StartedProcess}
 */
export function startProcess(program, args, options) {
  const child = spawn(program, args, {
    cwd: options.cwd,
    detached: options.group === true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  /** @type {(() => void)[]} */
  const listeners = [];
  const collect = (/** @type {Buffer} */ chunk) => {
    output += chunk.toString();
    for (const listener of [...listeners]) listener();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  /** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} */
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let hasExited = false;
  void exited.then(
    () => {
      hasExited = true;
      for (const listener of [...listeners]) listener();
    },
    () => undefined,
  );
  const waitFor = (/** @type {RegExp} */ pattern, /** @type {number} */ timeoutMs) =>
    /** @type {Promise<RegExpMatchArray>} */ (
      new Promise((resolve, reject) => {
        const check = () => {
          const match = output.match(pattern);
          if (match !== null) return finish(() => resolve(match));
          if (hasExited)
            finish(() => reject(new Error(`exited before printing ${pattern}:\n${output}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`))),
          timeoutMs,
        );
        const finish = (/** @type {() => void} */ settle) => {
          clearTimeout(timer);
          const index = listeners.indexOf(check);
          if (index >= 0) listeners.splice(index, 1);
          settle();
        };
        listeners.push(check);
        check();
      })
    );
  return { pid: /** @type {number} */ (child.pid), output: () => output, exited, waitFor };
}

/**
 * Runs a process to its end, killing it (SIGKILL, by pid) if it outlives `timeoutMs`.
 *
 * @param {string} program
 * @param {string[]} args
 * @param {{ cwd: string, timeoutMs: number }} options
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null, output: string }>}
 */
export async function runToEnd(program, args, options) {
  const started = startProcess(program, args, { cwd: options.cwd });
  const timer = setTimeout(() => process.kill(started.pid, 'SIGKILL'), options.timeoutMs);
  try {
    const result = await started.exited;
    return { ...result, output: started.output() };
  } finally {
    clearTimeout(timer);
  }
}
