/** Entry point of the docs build's diagram step (scripts/build-diagrams.mjs bundles it for Node). */

import { logsBeforeHeal, scenarioDiagram } from './diagrams.js';
import { guidePictures } from './guide-pictures/guide-pictures.js';
import { leaderlessScenarios, runLeaderlessScenario } from './leaderless/leaderless-scenarios.js';
import { scenarioById, scenarios } from './scenarios.js';

/**
 * Every scenario's sequence diagram, then the split cluster's logs, then the pictures scripted
 * over other packages' code, then the leaderless scenarios' runs, as SVG text.
 */
export async function allScenarioDiagrams(): Promise<{ id: string; svg: string }[]> {
  const diagrams: { id: string; svg: string }[] = [];
  for (const scenario of scenarios) {
    diagrams.push({ id: scenario.id, svg: await scenarioDiagram(scenario) });
  }
  diagrams.push({
    id: 'five-server-logs',
    svg: await logsBeforeHeal(scenarioById('five-server-quorum-split')!),
  });
  for (const picture of guidePictures) {
    diagrams.push({ id: picture.id, svg: await picture.draw() });
  }
  for (const scenario of leaderlessScenarios) {
    diagrams.push({ id: scenario.id, svg: (await runLeaderlessScenario(scenario)).svg });
  }
  return diagrams;
}
