import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { determinismConfig } from './determinism.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

// Lints source text as if it lived at `filePath` in the repository, with only the parser and the
// determinism block of eslint.config.js, so the test proves exactly the rule CI enforces.
async function determinismErrors(code: string, filePath: string): Promise<string[]> {
  const eslint = new ESLint({
    cwd: repoRoot,
    overrideConfigFile: true,
    overrideConfig: [
      { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
      determinismConfig,
    ],
  });
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('determinism lint rule (DESIGN.md §4)', () => {
  it('rejects Date.now() in package code', async () => {
    const errors = await determinismErrors(
      'export const t = Date.now();\n',
      'packages/wal/src/wal.ts',
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^no-restricted-globals: .*Date: reach it through a port/);
  });

  it('accepts Date.now() in an adapter file', async () => {
    expect(
      await determinismErrors('export const t = Date.now();\n', 'packages/wal/src/node-clock.ts'),
    ).toEqual([]);
    expect(
      await determinismErrors(
        'export const t = Date.now();\n',
        'packages/wal/src/clock-adapter.ts',
      ),
    ).toEqual([]);
  });

  it('rejects timers, Math.random, node:fs and node:net in package code', async () => {
    const code = [
      "import { open } from 'node:fs/promises';",
      "import { createServer } from 'node:net';",
      "import * as fs from 'fs';",
      'setTimeout(() => {}, 1);',
      'setInterval(() => {}, 1);',
      'export const r = Math.random();',
      'export { open, createServer, fs };',
    ].join('\n');
    const errors = await determinismErrors(code, 'packages/heartbeat/src/detector.ts');
    expect(errors.map((e) => e.split(':')[0])).toEqual([
      'no-restricted-imports',
      'no-restricted-imports',
      'no-restricted-imports',
      'no-restricted-globals',
      'no-restricted-globals',
      'no-restricted-properties',
    ]);
  });

  it('does not apply outside packages/*/src', async () => {
    expect(
      await determinismErrors('export const t = Date.now();\n', 'apps/kv-node/src/main.ts'),
    ).toEqual([]);
  });
});
