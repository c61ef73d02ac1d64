// Every TypeScript example in the guides and the package READMEs compiles against the packages'
// current source, and the ones marked `ts run` also run. See scripts/check-examples.mjs.
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  checkExamples,
  cleanExamples,
  examplePath,
  sourceLocation,
} from './scripts/check-examples.mjs';

const { examples, problems } = checkExamples();

afterAll(() => {
  cleanExamples();
});

describe('documentation examples', () => {
  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThan(0);
  });

  it('compile', () => {
    expect(problems, `examples that do not compile:\n${problems.join('\n')}`).toEqual([]);
  });

  const runnable = examples.filter((example) => example.run);
  it.each(runnable.map((example) => [sourceLocation(example, 0), example] as const))(
    'runs %s',
    async (_location, example) => {
      // Examples print to show the reader what happens; keep the test output quiet.
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        await import(examplePath(example));
      } finally {
        log.mockRestore();
      }
    },
    30_000,
  );
});
