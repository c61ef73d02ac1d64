/**
 * The playground's leaderless section: the quorum-mode guide's athens / byzantium / cyrene
 * scenario, read at each consistency level. Each run is short, so it is run at once and shown as
 * its recorded sequence diagram, the answer and every member's copy at the end.
 */

import {
  leaderlessScenarioById,
  leaderlessScenarios,
  runLeaderlessScenario,
  type LeaderlessScenario,
} from '../leaderless/leaderless-scenarios.js';
import { button, element, setText } from './dom.js';

/** Builds the section inside `root` and runs the scenario the address names (by `#id`). */
export async function mountLeaderlessPanel(root: HTMLElement): Promise<void> {
  const answer = element('p', { id: 'll-answer', 'aria-live': 'polite' });
  const copies = element('p', { id: 'll-copies' });
  const watch = element('p', { id: 'll-watch' });
  const picture = element('div', { id: 'll-picture', class: 'pg-diagram' });
  const trace = element('p', { id: 'll-trace', class: 'pg-small' });
  const buttons = leaderlessScenarios.map((scenario) =>
    button(scenario.title, () => void show(scenario), {
      'data-scenario': scenario.id,
      'aria-pressed': 'false',
    }),
  );
  root.replaceChildren(
    element(
      'div',
      { class: 'pg-scenarios', role: 'group', 'aria-label': 'Leaderless scenarios' },
      ...buttons,
    ),
    watch,
    answer,
    copies,
    picture,
    trace,
  );

  let shown = 0;
  async function show(scenario: LeaderlessScenario): Promise<void> {
    const attempt = ++shown;
    root.dataset['ready'] = 'false';
    setText(answer, 'Running…');
    const outcome = await runLeaderlessScenario(scenario);
    // A later click wins over a run still finishing.
    if (attempt !== shown) return;
    for (const candidate of buttons) {
      candidate.setAttribute('aria-pressed', String(candidate.dataset['scenario'] === scenario.id));
    }
    setText(watch, scenario.watch);
    setText(answer, `byzantium answered: ${outcome.answer}`);
    setText(
      copies,
      `copies at the end: ${Object.entries(outcome.copies)
        .map(([member, value]) => `${member}=${value}`)
        .join(', ')} (cyrene is offline)`,
    );
    const svg = new DOMParser().parseFromString(outcome.svg, 'image/svg+xml').documentElement;
    picture.replaceChildren(document.importNode(svg, true));
    setText(trace, `seed ${scenario.seed}, trace ${outcome.traceHash}`);
    root.dataset['scenario'] = scenario.id;
    root.dataset['trace'] = outcome.traceHash;
    root.dataset['answer'] = outcome.answer;
    root.dataset['ready'] = 'true';
  }

  window.addEventListener('hashchange', () => {
    const chosen = leaderlessScenarioById(location.hash.slice(1));
    if (chosen !== undefined) void show(chosen);
  });
  await show(leaderlessScenarioById(location.hash.slice(1)) ?? leaderlessScenarios[0]!);
}
