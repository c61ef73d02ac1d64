/** Entry point of the docs build's diagram step (scripts/build-diagrams.mjs bundles it for Node). */

import { scenarioDiagram } from './diagrams.js';
import { scenarios } from './scenarios.js';

/** Every scenario's sequence diagram, as SVG text, in scenario order. */
export async function allScenarioDiagrams(): Promise<{ id: string; svg: string }[]> {
  const diagrams: { id: string; svg: string }[] = [];
  for (const scenario of scenarios) {
    diagrams.push({ id: scenario.id, svg: await scenarioDiagram(scenario) });
  }
  return diagrams;
}
