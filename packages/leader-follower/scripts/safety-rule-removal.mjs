#!/usr/bin/env node
// The safety-rule removal check: for each safety rule of the core (docs/design.md, rules 1-8), it
// removes the code that keeps the rule, runs the tests that guard it, and expects them to FAIL.
// A rule whose removal leaves the tests green is not tested; a run that does not end within the
// time limit is reported as a hang (a test looping without a bound, which no vitest timeout can
// stop). Every source file is restored afterwards, also on Ctrl-C.
//
//   node scripts/safety-rule-removal.mjs            # every rule
//   node scripts/safety-rule-removal.mjs R1 R6b     # some
//
// Exit 0 when every removal made its tests fail; 1 otherwise. Not run by CI (it rewrites source
// files while it runs): run it after changing the core or its tests.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const limitMs = Number(process.env.RULE_CHECK_LIMIT_MS ?? 300_000);

const coreTests = 'src/leader-follower-core.test.ts';
const nodeTests = ['src/proposal-waiters.test.ts', 'src/leader-follower-node.scenarios.test.ts'];

/**
 * Each removal: the rule, what is taken out, and exact text replacements (each `find` must occur
 * once, so a change to the code makes the check say so instead of testing nothing).
 */
const removals = [
  {
    id: 'R1',
    rule: 'persist before answering: messages wait until the Ready is durable',
    edits: [
      {
        file: 'src/ready-outbox.ts',
        find: '    else this.messagesAfterPersist.push({ to, message });\n  }',
        replace: '    else this.messagesToSendNow.push({ to, message });\n  }',
      },
      {
        file: 'src/ready-outbox.ts',
        find: 'if (hardState !== undefined && messagesToSendNow.length > 0) {',
        replace: 'if ((false as boolean) && messagesToSendNow.length > 0) {',
      },
    ],
    tests: [coreTests],
  },
  {
    id: 'R2',
    rule: 'vote only for a candidate whose log is at least as up to date',
    edits: [
      {
        file: 'src/election.ts',
        find: 'const upToDate =\n      request.lastLogGeneration > log.lastGeneration ||',
        replace: 'const upToDate =\n      true ||',
      },
    ],
    tests: [coreTests],
  },
  {
    id: 'R3',
    rule: 'commit by counting only an entry of the current generation',
    edits: [
      {
        file: 'src/leader-replication.ts',
        find: 'generationOf: (index) => log.generationAt(index) ?? -1,',
        replace: 'generationOf: () => this.core.generation,',
      },
    ],
    tests: [coreTests],
  },
  {
    id: 'R4',
    rule: 'truncate only on a conflict (same index, other generation)',
    edits: [
      {
        file: 'src/follower-replication.ts',
        find: 'if (existing === entry.generation) continue; // already held: a duplicate or reordered append',
        replace: '// (removed) if (existing === entry.generation) continue;',
      },
    ],
    tests: [coreTests],
  },
  {
    id: 'R5',
    rule: 'reject a message from an older generation',
    edits: [
      {
        file: 'src/leader-follower-core.ts',
        find: '} else if (message.generation < this.generation) {',
        replace: '} else if (message.generation < 0) {',
      },
    ],
    tests: [coreTests],
  },
  {
    id: 'R6a',
    rule: 'pre-vote: a follower that suspects its leader asks before bumping the generation',
    edits: [
      {
        file: 'src/election.ts',
        find: "this.core.isVoter(this.core.id)) {\n      this.campaign('pre-vote');",
        replace: "this.core.isVoter(this.core.id)) {\n      this.campaign('election');",
      },
    ],
    tests: [coreTests],
  },
  {
    id: 'R6b',
    rule: 'check-quorum: a leader without a live majority steps down',
    edits: [
      {
        file: 'src/leader-replication.ts',
        find: 'if (!this.heardFromMajority()) {',
        replace: 'if ((false as boolean) && !this.heardFromMajority()) {',
      },
    ],
    tests: [coreTests],
  },
  {
    id: 'R7',
    rule: 'linearizable reads only after a quorum round, once the generation committed',
    edits: [
      {
        file: 'src/leader-replication.ts',
        find: 'if (!this.committedInCurrentGeneration) this.reads.deferUntilCommit(requestId);\n    else if (this.servesReadsAlone()) {',
        replace: 'if (true as boolean) {',
      },
    ],
    tests: [coreTests],
  },
  {
    id: 'R8',
    rule: 'never a definite error when the outcome is unknown (a timed-out proposal)',
    edits: [
      {
        file: 'src/proposal-waiters.ts',
        find: 'throw new IndeterminateOutcomeError(`proposal at ${error.index} timed out`);',
        replace: 'throw new ProposalDroppedError(`proposal at ${error.index} timed out`);',
      },
    ],
    tests: nodeTests,
  },
];

const originals = new Map();

function restoreAll() {
  for (const [path, text] of originals) writeFileSync(path, text);
  originals.clear();
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    restoreAll();
    process.exit(130);
  });
}

function applyEdits(removal) {
  for (const edit of removal.edits) {
    const path = join(packageRoot, edit.file);
    const text = readFileSync(path, 'utf8');
    if (!originals.has(path)) originals.set(path, text);
    const count = text.split(edit.find).length - 1;
    if (count !== 1) {
      throw new Error(
        `${removal.id}: expected the code to remove once in ${edit.file}, found it ${count} times (update this check)`,
      );
    }
    writeFileSync(
      path,
      text.replace(edit.find, () => edit.replace),
    );
  }
}

/** Runs vitest on `files`; resolves with its exit code, failed-test count and whether it hung. */
function runTests(files) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['vitest', 'run', ...files], {
      cwd: packageRoot,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const failed = /Tests\s+(\d+) failed/.exec(output)?.[1];
      const failedNames = [...output.matchAll(/^\s*[×✗] (.+?)(?: \d+ms)?$/gm)].map((m) => m[1]);
      resolve({ code, hung, failed: failed === undefined ? 0 : Number(failed), failedNames });
    });
  });
}

const wanted = process.argv.slice(2);
const chosen = wanted.length === 0 ? removals : removals.filter((r) => wanted.includes(r.id));
if (chosen.length === 0) {
  console.error(`no such rule; known: ${removals.map((r) => r.id).join(', ')}`);
  process.exit(2);
}
let allBite = true;
for (const removal of chosen) {
  const started = performance.now();
  let result;
  try {
    applyEdits(removal);
    result = await runTests(removal.tests);
  } catch (error) {
    result = { error: error.message };
  } finally {
    restoreAll();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  let verdict;
  if (result.error !== undefined) verdict = `CHECK BROKEN: ${result.error}`;
  else if (result.hung) verdict = `HANG: no end within ${limitMs / 1000} s`;
  else if (result.code !== 0 && result.failed > 0) {
    verdict = `bites: ${result.failed} failed (${result.failedNames.slice(0, 3).join('; ')}${result.failedNames.length > 3 ? '; ...' : ''})`;
  } else if (result.code !== 0)
    verdict = `ERROR: vitest exited ${result.code} without failed tests`;
  else verdict = 'DOES NOT BITE: every test passed';
  if (!verdict.startsWith('bites')) allBite = false;
  console.log(`${removal.id.padEnd(4)} ${removal.rule}\n     ${verdict} [${seconds} s]`);
}
console.log(allBite ? 'every removal was caught' : 'SOME REMOVALS WERE NOT CAUGHT');
process.exit(allBite ? 0 : 1);
