// Every internal link and anchor of the built site resolves; external links are well-formed (never
// fetched). Needs the site: run `pnpm run docs` first (which also runs this check). Skipped, and
// reported as skipped, when the site has not been built.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSite } from './scripts/check-links.mjs';

const site = join(import.meta.dirname, 'site');

describe('documentation site links', () => {
  it.skipIf(!existsSync(join(site, 'index.html')))('resolve', () => {
    const { problems, pages } = checkSite(site);
    expect(pages).toBeGreaterThan(0);
    expect(problems, `broken links:\n${problems.join('\n')}`).toEqual([]);
  });
});
