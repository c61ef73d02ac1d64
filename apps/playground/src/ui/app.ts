/**
 * The cluster playground page: real `@x/leader-follower` members on `@x/simulation`'s virtual time,
 * driven from the browser. Mounted by the docs site's loader on the page that has a
 * `#playground-root` element, and by `page.ts` on kv-node dashboard's Playground tab.
 */

import { FaultScriptError, formatFaultScript, parseFaultScript } from '../fault-script.js';
import type { PlaygroundAction } from '../fault-script.js';
import {
  decodeConfig,
  defaultConfig,
  encodeConfig,
  namesARun,
  runEndMs,
  type PlaygroundConfig,
} from '../playground-config.js';
import { PlaygroundRun, type ClusterView } from '../playground-run.js';
import { scenarioById, scenarios, type Scenario } from '../scenarios.js';
import { ClusterPicture } from './cluster-picture.js';
import { mountLeaderlessPanel } from './leaderless-panel.js';
import { button, element, setText } from './dom.js';
import { MemberCard } from './member-card.js';

/** Virtual milliseconds per real millisecond the speed menu offers. */
const SPEEDS = [0.05, 0.1, 0.25, 1, 4, 16] as const;
const DEFAULT_SPEED = 0.25;

/** Where a page's run comes from: the query (a shared link), a scenario's #id, or the default. */
function initialChoice(location: Location): {
  config: PlaygroundConfig;
  scenario?: Scenario;
  error?: string;
} {
  if (namesARun(location.search)) return decodeConfig(location.search);
  const scenario = scenarioById(location.hash.slice(1));
  if (scenario !== undefined) return { config: scenario.config, scenario };
  return { config: defaultConfig };
}

/** Builds the playground inside `root` and starts the run the URL names. */
export async function mountPlayground(root: HTMLElement): Promise<void> {
  // The leaderless section reads its scenario from the address before the run below rewrites it.
  const leaderlessRoot = document.getElementById('leaderless-root');
  const leaderless =
    leaderlessRoot === null ? Promise.resolve() : mountLeaderlessPanel(leaderlessRoot);
  const picture = new ClusterPicture();
  let run: PlaygroundRun | undefined;
  let scenario: Scenario | undefined;
  let cards = new Map<string, MemberCard>();
  let playing = false;
  let speed: number = DEFAULT_SPEED;
  let lastFrame: number | undefined;
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;

  // Every operation on the run goes through one queue: the run advances one thing at a time.
  const enqueue = (task: () => Promise<void>): Promise<void> => {
    queued++;
    queue = queue
      .then(task)
      .catch((error: unknown) => showError(error instanceof Error ? error.message : String(error)))
      .finally(() => {
        queued--;
        render();
      });
    return queue;
  };

  // --- controls -------------------------------------------------------------------------------
  const playButton = button('Play', () => setPlaying(!playing), {
    id: 'pg-play',
    'aria-pressed': 'false',
  });
  const stepButton = button(
    'Step one event',
    () => {
      setPlaying(false);
      void enqueue(() => run!.stepOne());
    },
    { id: 'pg-step' },
  );
  const endButton = button(
    'Run to the end',
    () => {
      setPlaying(false);
      void enqueue(() => run!.runUntil(() => false, endOfRun()));
    },
    { id: 'pg-run-to-end' },
  );
  const speedSelect = element('select', { id: 'pg-speed' });
  for (const option of SPEEDS) {
    const item = element('option', { value: String(option) }, `${option}× real time`);
    if (option === DEFAULT_SPEED) item.selected = true;
    speedSelect.append(item);
  }
  speedSelect.addEventListener('change', () => (speed = Number(speedSelect.value)));
  const clock = element('output', { id: 'pg-clock', 'aria-live': 'off' });
  const seedInput = element('input', { id: 'pg-seed', type: 'number', min: '0', step: '1' });
  const membersSelect = element(
    'select',
    { id: 'pg-members' },
    element('option', { value: '3' }, '3 members'),
    element('option', { value: '5' }, '5 members'),
  );
  const newRunButton = button(
    'New run',
    () => {
      void load({
        seed: Number(seedInput.value) || 0,
        members: membersSelect.value === '5' ? 5 : 3,
        script: [],
      });
    },
    { id: 'pg-new-run' },
  );
  const link = element('a', { id: 'pg-link', href: '#' }, 'Link to this run');
  const scenarioList = element('ul', { class: 'pg-scenarios' });
  for (const choice of scenarios) {
    scenarioList.append(
      element(
        'li',
        {},
        button(choice.title, () => void load(choice.config, choice), {
          'data-scenario': choice.id,
        }),
      ),
    );
  }
  const scenarioNote = element('p', { id: 'pg-scenario-note' });
  const errorBox = element('p', { id: 'pg-error', role: 'alert', class: 'pg-error' });
  const leaderLine = element('p', { id: 'pg-leader', role: 'status', class: 'pg-leader' });
  const lastHappened = element('p', { id: 'pg-last', 'aria-live': 'polite', class: 'pg-last' });
  const history = element('ol', { id: 'pg-history', class: 'pg-history', reversed: '' });
  const membersBox = element('div', { class: 'pg-members', id: 'pg-members-box' });
  const messagesBody = element('tbody');
  const messagesCount = element('span', { id: 'pg-message-count' });

  // --- the client and the network --------------------------------------------------------------
  const keyInput = element('input', {
    id: 'pg-key',
    value: 'x',
    size: '6',
    pattern: '[A-Za-z0-9_-]+',
  });
  const valueInput = element('input', {
    id: 'pg-value',
    value: '1',
    size: '6',
    pattern: '[A-Za-z0-9_-]+',
  });
  const putButton = button(
    'Put',
    () => {
      const key = keyInput.value.trim();
      const value = valueInput.value.trim();
      if (!/^[A-Za-z0-9_-]+$/.test(key) || !/^[A-Za-z0-9_-]+$/.test(value)) {
        showError('A key and a value are letters, digits, - and _.');
        return;
      }
      perform({ kind: 'put', key, value });
      if (/^\d+$/.test(value)) valueInput.value = String(Number(value) + 1);
    },
    { id: 'pg-put' },
  );
  const partitionBoxes = element('span', { class: 'pg-partition-members' });
  const partitionButton = button(
    'Partition',
    () => {
      const side = [...partitionBoxes.querySelectorAll<HTMLInputElement>('input:checked')].map(
        (box) => box.value,
      );
      if (side.length === 0 || side.length === run!.cluster.names.length) {
        showError('Tick the members of one side (not all of them).');
        return;
      }
      perform({ kind: 'partition', groups: [side] });
    },
    { id: 'pg-partition' },
  );
  const healButton = button('Heal', () => perform({ kind: 'heal' }), { id: 'pg-heal' });

  // --- the script -------------------------------------------------------------------------------
  const scriptArea = element('textarea', {
    id: 'pg-script',
    rows: '6',
    cols: '48',
    spellcheck: 'false',
  });
  const runScriptButton = button(
    'Run this script from the start',
    () => {
      try {
        const script = parseFaultScript(scriptArea.value);
        void load({ ...run!.config, script });
      } catch (error) {
        showError(error instanceof FaultScriptError ? error.message : String(error));
      }
    },
    { id: 'pg-run-script' },
  );

  root.replaceChildren(
    element(
      'section',
      { class: 'pg-controls', 'aria-label': 'Run controls' },
      element(
        'div',
        { class: 'pg-row' },
        playButton,
        stepButton,
        endButton,
        element('label', {}, 'Speed ', speedSelect),
        element('span', {}, 'Virtual time: ', clock),
      ),
      element(
        'div',
        { class: 'pg-row' },
        element('label', {}, 'Seed ', seedInput),
        element('label', {}, 'Size ', membersSelect),
        newRunButton,
        link,
      ),
      element('div', { class: 'pg-row' }, element('span', {}, 'Scenarios: '), scenarioList),
      scenarioNote,
      errorBox,
    ),
    leaderLine,
    element(
      'div',
      { class: 'pg-main' },
      picture.element,
      element(
        'section',
        { class: 'pg-explain', 'aria-label': 'What just happened' },
        element('h3', {}, 'What just happened'),
        lastHappened,
        element('details', {}, element('summary', {}, 'Earlier'), history),
      ),
    ),
    element(
      'section',
      { class: 'pg-client', 'aria-label': 'Client and network' },
      element(
        'div',
        { class: 'pg-row' },
        element('span', {}, 'Client: '),
        element('label', {}, 'key ', keyInput),
        element('label', {}, 'value ', valueInput),
        putButton,
      ),
      element(
        'div',
        { class: 'pg-row' },
        element('span', {}, 'Network: one side '),
        partitionBoxes,
        partitionButton,
        healButton,
      ),
    ),
    membersBox,
    element(
      'section',
      { class: 'pg-in-flight', 'aria-label': 'Messages in flight' },
      element('h3', {}, 'Messages in flight (', messagesCount, ')'),
      element(
        'table',
        {},
        element(
          'thead',
          {},
          element(
            'tr',
            {},
            element('th', { scope: 'col' }, 'from'),
            element('th', { scope: 'col' }, 'to'),
            element('th', { scope: 'col' }, 'message'),
          ),
        ),
        messagesBody,
      ),
    ),
    element(
      'details',
      { class: 'pg-script' },
      element('summary', {}, 'Fault script'),
      element(
        'p',
        {},
        'One action per line: @<ms> crash|restart|pause|resume|isolate <member>, @<ms> partition a,b | c, @<ms> heal, @<ms> skew <member> <ms> (its clock jumps forward), @<ms> put key=value [to <member>]. A member is a name, leader, follower or previous.',
      ),
      scriptArea,
      runScriptButton,
    ),
  );

  function showError(message: string): void {
    setText(errorBox, message);
  }

  function endOfRun(): number {
    return Math.max(run!.nowMs, runEndMs(run!.script, scenario?.endMs));
  }

  function perform(action: PlaygroundAction): void {
    showError('');
    void enqueue(() => run!.perform(action));
  }

  function setPlaying(on: boolean): void {
    playing = on;
    setText(playButton, on ? 'Pause' : 'Play');
    playButton.setAttribute('aria-pressed', String(on));
    lastFrame = undefined;
    if (on) requestAnimationFrame(frame);
  }

  function frame(time: number): void {
    if (!playing) return;
    const elapsed = lastFrame === undefined ? 0 : Math.min(100, time - lastFrame);
    lastFrame = time;
    // A slow machine skips frames rather than queueing them up.
    if (queued === 0 && elapsed > 0) void enqueue(() => run!.advanceBy(elapsed * speed));
    requestAnimationFrame(frame);
  }

  async function load(config: PlaygroundConfig, chosen?: Scenario): Promise<void> {
    setPlaying(false);
    showError('');
    scenario = chosen;
    await enqueue(async () => {
      run = await PlaygroundRun.start(config);
      cards = new Map(run.cluster.names.map((name) => [name, new MemberCard(name, perform)]));
      membersBox.replaceChildren(...[...cards.values()].map((card) => card.element));
      partitionBoxes.replaceChildren(
        ...run.cluster.names.map((name) =>
          element(
            'label',
            {},
            element('input', { type: 'checkbox', value: name, 'data-member': name }),
            ` ${name} `,
          ),
        ),
      );
      seedInput.value = String(config.seed);
      membersSelect.value = String(config.members);
      scriptArea.value = formatFaultScript(config.script);
      setText(scenarioNote, chosen === undefined ? '' : `${chosen.title}: ${chosen.watch}`);
    });
  }

  function render(): void {
    if (run === undefined) return;
    const view: ClusterView = run.view();
    picture.render(view);
    for (const member of view.members)
      cards.get(member.name)?.render(member, view.leader?.name === member.name);
    setText(clock, `${(view.nowMs / 1000).toFixed(3)} s`);
    root.dataset['nowMs'] = String(Math.round(view.nowMs));
    root.dataset['trace'] = view.traceHash;
    root.dataset['events'] = String(view.eventsRun);
    const others = view.members.filter((m) => m.role === 'leader' && m.name !== view.leader?.name);
    setText(
      leaderLine,
      (view.leader === undefined
        ? 'No leader now.'
        : `Leader: ${view.leader.name} (generation ${view.leader.generation}).`) +
        others
          .map(
            (m) =>
              ` ${m.name} still believes it leads generation ${m.generation}, but cannot commit without a quorum.`,
          )
          .join(''),
    );
    if (view.failure !== undefined) showError(`The run failed: ${view.failure}`);
    const narration = run.narration;
    const last = narration.at(-1);
    setText(
      lastHappened,
      last === undefined
        ? 'Nothing yet: press Play or Step.'
        : `At ${Math.round(last.atMs)} ms: ${last.text}`,
    );
    if (
      history.dataset['count'] !== String(narration.length) ||
      history.dataset['last'] !== last?.text
    ) {
      history.dataset['count'] = String(narration.length);
      history.dataset['last'] = last?.text ?? '';
      history.replaceChildren(
        ...narration
          .slice(0, -1)
          .reverse()
          .map((line) =>
            element('li', { 'data-kind': line.kind }, `${Math.round(line.atMs)} ms: ${line.text}`),
          ),
      );
    }
    setText(messagesCount, String(view.messages.length));
    messagesBody.replaceChildren(
      ...view.messages
        .slice(0, 20)
        .map((message) =>
          element(
            'tr',
            {},
            element('td', {}, message.from),
            element('td', {}, message.to),
            element('td', {}, message.summary),
          ),
        ),
    );
    const query = encodeConfig({ ...run.config, script: run.script });
    link.href = query;
    if (location.search !== query) replaceLocation(query);
    if (document.activeElement !== scriptArea) scriptArea.value = formatFaultScript(run.script);
  }

  function replaceLocation(query: string): void {
    window.history.replaceState(null, '', `${location.pathname}${query}`);
  }

  window.addEventListener('hashchange', () => {
    const chosen = scenarioById(location.hash.slice(1));
    if (chosen !== undefined) void load(chosen.config, chosen);
  });

  const initial = initialChoice(location);
  await leaderless;
  await load(initial.config, initial.scenario);
  if (initial.error !== undefined) showError(`The link's run could not be read: ${initial.error}`);
  root.dataset['ready'] = 'true';
}
