import type { Message } from '@x/leader-follower';
import { renderLogStrips } from './log-strip-diagram.js';
import { PlaygroundRun } from './playground-run.js';
import type { Scenario } from './scenarios.js';
import { renderSequenceDiagram, type DiagramArrow, type DiagramNote } from './sequence-diagram.js';

/** Heartbeats (every 100 ms) would bury the other messages; the caption says they are left out. */
const LEFT_OUT = new Set(['heartbeat', 'heartbeat-response']);

/** The short text on a message's arrow. */
export function arrowLabel(message: Message): string {
  switch (message.kind) {
    case 'vote-request':
      return `${message.preVote ? 'pre-vote?' : 'vote?'} g${message.generation}`;
    case 'vote-response':
      return `${message.granted ? 'yes' : 'no'} g${message.generation}`;
    case 'append':
      return message.entries.length === 0
        ? `append (probe) g${message.generation}`
        : `append ${message.entries.map((entry) => entry.index).join(',')} g${message.generation}`;
    case 'append-response':
      return `${message.rejected ? 'reject' : 'ack'} ${message.index} g${message.generation}`;
    case 'snapshot-chunk':
      return `snapshot ≤${message.snapshotIndex}`;
    case 'snapshot-response':
      return message.installedIndex > 0 ? `installed ${message.installedIndex}` : 'snapshot ack';
    default:
      return `${message.kind} g${message.generation}`;
  }
}

/** A narration line cut to its first clause, for a note beside the diagram. */
function shortNote(text: string): string {
  const clause = /^[^:.]*/.exec(text)?.[0] ?? text;
  return clause.length > 48 ? `${clause.slice(0, 47)}…` : clause;
}

/**
 * Runs `scenario` and draws its sequence diagram, from just before its first scripted action to
 * a little after its last one.
 */
export async function scenarioDiagram(scenario: Scenario): Promise<string> {
  const script = scenario.config.script;
  const fromMs = (script[0]?.atMs ?? 0) - 100;
  const toMs = (script.at(-1)?.atMs ?? 0) + 300;
  const run = await PlaygroundRun.start(scenario.config);
  const arrows: DiagramArrow[] = [];
  run.onMessageArrived((watched) => {
    if (LEFT_OUT.has(watched.message.kind) || watched.sentAtMs < fromMs) return;
    arrows.push({
      from: watched.from,
      to: watched.to,
      sentAtMs: watched.sentAtMs,
      arrivedAtMs: run.nowMs,
      label: arrowLabel(watched.message),
      kind: watched.message.kind,
    });
  });
  await run.advanceBy(toMs - run.nowMs);
  const failure = run.view().failure;
  if (failure !== undefined) throw new Error(`scenario ${scenario.id} failed: ${failure}`);
  const notes: DiagramNote[] = run.narration
    .filter((line) => line.atMs >= fromMs && line.atMs <= toMs)
    .map((line) => ({
      atMs: line.atMs,
      member: line.member,
      text: shortNote(line.text),
      kind: line.kind,
    }));
  return renderSequenceDiagram({
    title: `${scenario.title}: a recorded run of the real code`,
    description: `${scenario.watch} Drawn from a simulated run (seed ${scenario.config.seed}) of @x/leader-follower; heartbeats are left out.`,
    members: run.cluster.names,
    arrows,
    notes,
  });
}

/**
 * Every member's log just before the network heals in `scenario` (which must heal): the two sides
 * of the split, with their high-water marks, as the five-server split leaves them.
 */
export async function logsBeforeHeal(scenario: Scenario): Promise<string> {
  const heal = scenario.config.script.find((scripted) => scripted.action.kind === 'heal');
  if (heal === undefined) throw new Error(`scenario ${scenario.id} never heals`);
  const run = await PlaygroundRun.start(scenario.config);
  await run.advanceBy(heal.atMs - 1 - run.nowMs);
  const view = run.view();
  if (view.failure !== undefined)
    throw new Error(`scenario ${scenario.id} failed: ${view.failure}`);
  return renderLogStrips(
    view,
    `Logs and high-water marks during a split: ${scenario.title}`,
    `Each member's log just before the network heals (seed ${scenario.config.seed}): entries up to a member's high-water mark are committed (solid), entries beyond it are not (dashed) and are never applied or shown to clients.`,
  );
}
