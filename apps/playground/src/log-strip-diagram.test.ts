import { describe, expect, it } from 'vitest';
import { logsBeforeHeal } from './diagrams.js';
import { scenarioById } from './scenarios.js';

describe('log strip diagram', () => {
  it('shows the minority of a five-server split holding an uncommitted entry', async () => {
    const svg = await logsBeforeHeal(scenarioById('five-server-quorum-split')!);
    // Two members beyond their high-water mark 2 (dashed), three committed through 4.
    expect(svg.match(/>high-water mark 2</g)).toHaveLength(2);
    expect(svg.match(/>high-water mark 4</g)).toHaveLength(3);
    expect(svg.match(/stroke-dasharray="4 3"/g)).toHaveLength(2);
    expect(svg.match(/>x=2</g)).toHaveLength(2);
    expect(svg).toContain('<desc id="desc">');
  });
});
