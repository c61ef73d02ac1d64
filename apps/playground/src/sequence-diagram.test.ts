import { describe, expect, it } from 'vitest';
import { scenarioDiagram } from './diagrams.js';
import { scenarioById } from './scenarios.js';
import { renderSequenceDiagram } from './sequence-diagram.js';

describe('sequence diagram', () => {
  const svg = renderSequenceDiagram({
    title: 'A <title> & more',
    description: 'what it shows',
    members: ['athens', 'byzantium'],
    arrows: [
      {
        from: 'athens',
        to: 'byzantium',
        sentAtMs: 10,
        arrivedAtMs: 30,
        label: 'vote? g1',
        kind: 'vote-request',
      },
      {
        from: 'byzantium',
        to: 'athens',
        sentAtMs: 31,
        arrivedAtMs: 50,
        label: 'yes g1',
        kind: 'vote-response',
      },
    ],
    notes: [
      { atMs: 50, member: 'athens', text: 'athens leads generation 1', kind: 'leader' },
      { atMs: 50.2, member: undefined, text: 'a note at almost the same time', kind: 'client' },
    ],
  });

  it('draws one arrow per message, with its label, and escapes text', () => {
    expect(svg.match(/marker-end="url\(#head\)"/g)).toHaveLength(2);
    expect(svg).toContain('>vote? g1</text>');
    expect(svg).toContain('<title id="title">A &lt;title&gt; &amp; more</title>');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });

  it('draws time downwards and keeps notes a moment apart from overlapping', () => {
    const y = (text: string): number =>
      Number(
        new RegExp(`<text x="8" y="([\\d.]+)"[^>]*><tspan[^>]*>\\d+ ms</tspan> ${text}`).exec(
          svg,
        )![1],
      );
    expect(
      y('a note at almost the same time') - y('athens leads generation 1'),
    ).toBeGreaterThanOrEqual(14);
    const [first, second] = [
      ...svg.matchAll(/<line x1="[\d.]+" y1="([\d.]+)"[^>]*marker-end/g),
    ].map((m) => Number(m[1]));
    expect(second).toBeGreaterThan(first!);
  });

  it('draws a scenario from a recorded run of the real code', async () => {
    const drawn = await scenarioDiagram(scenarioById('leader-crash')!);
    expect(drawn).toMatch(/crash \w+<\/text>/);
    expect(drawn).toContain('pre-vote? g2');
    expect(drawn).toContain('vote? g2');
    expect(drawn).toMatch(/\w+ leads generation 2/);
    // Heartbeats are left out (the description says so).
    expect(drawn).not.toMatch(/>heartbeat(-response)? g/);
    expect(drawn).toContain('heartbeats are left out');
  });
});
