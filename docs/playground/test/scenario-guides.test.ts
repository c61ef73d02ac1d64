import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scenarioById, scenarios } from '@x/playground';

const guides = new URL('../../guides/', import.meta.url);
const playgroundPage = readFileSync(new URL('playground.md', guides), 'utf8');

/** The id typedoc gives a heading: lower case, words joined by `-`. */
function headingId(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .trim()
    .replace(/ +/g, '-');
}

describe('scenarios', () => {
  it('have distinct ids, each found by its id', () => {
    expect(new Set(scenarios.map((s) => s.id)).size).toBe(scenarios.length);
    for (const scenario of scenarios) expect(scenarioById(scenario.id)).toBe(scenario);
    expect(scenarioById('nope')).toBeUndefined();
  });

  it('each have a heading on the playground page whose link loads them', () => {
    const headings = [...playgroundPage.matchAll(/^### (.+)$/gm)].map((m) => headingId(m[1]!));
    for (const scenario of scenarios) expect(headings).toContain(scenario.id);
  });

  it('are each linked from the guide that explains them', () => {
    for (const scenario of scenarios) {
      const guide = readFileSync(new URL(`patterns/${scenario.guide}`, guides), 'utf8');
      expect(guide, scenario.guide).toContain(`(../playground.md#${scenario.id})`);
    }
  });

  it('end after their last scripted action', () => {
    for (const scenario of scenarios) {
      expect(scenario.endMs).toBeGreaterThan(scenario.config.script.at(-1)!.atMs);
    }
  });
});
