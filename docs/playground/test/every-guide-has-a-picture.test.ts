import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guidePictures, scenarios } from '@x/playground';

const patternGuides = join(import.meta.dirname, '..', '..', 'guides', 'patterns');
/** What the docs build draws (diagram-tool.ts): scenarios, the split's logs, scripted pictures. */
const drawn = new Set([
  ...scenarios.map((scenario) => scenario.id),
  'five-server-logs',
  ...guidePictures.map((picture) => picture.id),
]);

describe('pattern guide pictures', () => {
  const guides = readdirSync(patternGuides).filter((name) => name.endsWith('.md'));

  it.each(guides)('%s shows at least one picture the docs build draws', (guide) => {
    const text = readFileSync(join(patternGuides, guide), 'utf8');
    const pictures = [
      ...text.matchAll(/!\[[^\]]+\]\(\.\.\/\.\.\/dist\/diagrams\/([\w-]+)\.svg\)/g),
    ];
    expect(pictures.length, guide).toBeGreaterThan(0);
    for (const [, id] of pictures) expect(drawn, `${guide} shows ${id}.svg`).toContain(id);
  });

  it('every scripted picture is shown by the guide it was drawn for', () => {
    for (const picture of guidePictures) {
      const text = readFileSync(join(patternGuides, `${picture.guide}.md`), 'utf8');
      expect(text, picture.id).toContain(`../../dist/diagrams/${picture.id}.svg`);
    }
  });
});
