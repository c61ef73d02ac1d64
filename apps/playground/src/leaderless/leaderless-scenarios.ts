import { Cluster, uniformLatency } from '@x/simulation';
import { renderSequenceDiagram, type DiagramArrow, type DiagramNote } from '../sequence-diagram.js';
import { LeaderlessMember, type Consistency, type MessageLog } from './leaderless-member.js';

/** One of the quorum-mode guide's scenario's three endings: the read at one consistency level. */
export interface LeaderlessScenario {
  readonly id: string;
  readonly title: string;
  readonly consistency: Consistency;
  readonly seed: number;
  /** What the reader should see, in a sentence. */
  readonly watch: string;
}

/**
 * athens, byzantium and cyrene hold `title = Distributed Systems`; byzantium is cut off while a
 * write of `Microservices` through athens reaches athens and cyrene; byzantium comes back
 * unrepaired, cyrene goes offline, and a client reads `title` through byzantium.
 */
export const leaderlessScenarios: readonly LeaderlessScenario[] = [
  {
    id: 'leaderless-read-one',
    title: 'Leaderless read, consistency one: stale',
    consistency: 'one',
    seed: 11,
    watch:
      'byzantium answers from its own copy (R = 1): the old title, although the write was acknowledged before the read began.',
  },
  {
    id: 'leaderless-read-quorum',
    title: 'Leaderless read, consistency quorum: newest of two, repaired after',
    consistency: 'quorum',
    seed: 12,
    watch:
      'byzantium asks athens too (R = 2), answers the newer title, and repairs its own copy in the background, after answering.',
  },
  {
    id: 'leaderless-read-linearizable',
    title: 'Leaderless read, consistency linearizable: written back before answering',
    consistency: 'linearizable',
    seed: 13,
    watch:
      'byzantium reads a quorum and writes the newest title back to a write quorum before it answers (ABD), so no later read can return anything older.',
  },
];

/** Looks a scenario up by id. */
export function leaderlessScenarioById(id: string): LeaderlessScenario | undefined {
  return leaderlessScenarios.find((scenario) => scenario.id === id);
}

const MEMBERS = ['athens', 'byzantium', 'cyrene'] as const;
const OLD = 'Distributed Systems';
const NEW = 'Microservices';
const CUT_AT_MS = 200;
const WRITE_AT_MS = 250;
const HEAL_AT_MS = 700;
const OFFLINE_AT_MS = 750;
const READ_AT_MS = 800;
const END_MS = 1300;

function rank(note: DiagramNote): number {
  return note.kind === 'client' ? 0 : note.text.endsWith('(own copy)') ? 1 : 2;
}

/** What one run shows: the answer, the picture and the run's trace hash. */
export interface LeaderlessOutcome {
  readonly answer: string;
  /** Each member's copy of `title` at the end. */
  readonly copies: Readonly<Record<string, string>>;
  readonly svg: string;
  readonly traceHash: string;
}

/** Runs `scenario` on `@x/simulation`: a pure function of the scenario. */
export async function runLeaderlessScenario(
  scenario: LeaderlessScenario,
): Promise<LeaderlessOutcome> {
  // Read only once the cluster runs (its members are created by `start`).
  const log: MessageLog = { nowMs: () => cluster.now, messages: [], ownWrites: [] };
  const cluster = new Cluster<LeaderlessMember>({
    seed: scenario.seed,
    nodes: MEMBERS,
    network: { latency: uniformLatency(15, 40) },
    createNode: (ports) => new LeaderlessMember(ports, log),
  });
  const notes: DiagramNote[] = [];
  const note = (member: string | undefined, text: string, kind: string) =>
    notes.push({ atMs: cluster.now, member, text, kind });
  const member = (name: string) => cluster.node(name).instance!;
  const settle = async <T>(promise: Promise<T>): Promise<T> => {
    let done = false;
    const watched = promise.finally(() => (done = true));
    // A request answered from the coordinator's own copy settles without any event: let its
    // promise chain run before asking the simulation to run until it has.
    for (let turn = 0; turn < 10 && !done; turn++) await Promise.resolve();
    if (!done) await cluster.runUntil(() => done, 5_000);
    return watched;
  };

  await cluster.start();
  note('athens', `client: put title=${OLD} (quorum)`, 'client');
  await settle(member('athens').put('title', OLD, 'quorum'));
  await cluster.runFor(CUT_AT_MS - cluster.now);
  cluster.network.isolate('byzantium');
  note('byzantium', 'byzantium is cut off', 'fault');
  await cluster.runFor(WRITE_AT_MS - cluster.now);
  note('athens', `client: put title=${NEW} (quorum)`, 'client');
  await settle(member('athens').put('title', NEW, 'quorum'));
  note('athens', 'acknowledged: on athens and cyrene', 'commit');
  await cluster.runFor(HEAL_AT_MS - cluster.now);
  cluster.network.heal();
  note('byzantium', 'byzantium is back, not repaired', 'fault');
  await cluster.runFor(OFFLINE_AT_MS - cluster.now);
  cluster.node('cyrene').crash();
  note('cyrene', 'cyrene goes offline', 'fault');
  await cluster.runFor(READ_AT_MS - cluster.now);
  note('byzantium', `client: get title (${scenario.consistency})`, 'client');
  const answer =
    (await settle(member('byzantium').get('title', scenario.consistency))) ?? 'nothing';
  note('byzantium', `answers ${answer}`, answer === NEW ? 'leader' : 'stale');
  await cluster.runFor(END_MS - cluster.now);

  const copies = Object.fromEntries(
    MEMBERS.filter((name) => cluster.node(name).instance !== undefined).map((name) => [
      name,
      member(name).store.get('title')?.value ?? 'nothing',
    ]),
  );
  const arrows: DiagramArrow[] = log.messages
    .filter((message) => message.sentAtMs >= CUT_AT_MS - 50)
    .map((message) => ({
      from: message.from,
      to: message.to,
      sentAtMs: message.sentAtMs,
      arrivedAtMs: message.arrivedAtMs ?? message.sentAtMs + 12,
      label: message.arrivedAtMs === undefined ? `${message.label} ✗` : message.label,
      kind: message.arrivedAtMs === undefined ? 'lost' : message.kind,
    }));
  const svg = renderSequenceDiagram({
    title: `${scenario.title}: a recorded run`,
    description: `${scenario.watch} Drawn from a simulated run (seed ${scenario.seed}) of @x/quorum's quorumRead and quorumWrite on @x/simulation; lost messages are marked ✗.`,
    members: [...MEMBERS],
    arrows,
    notes: [
      ...notes,
      ...log.ownWrites.map((write) => ({
        atMs: write.atMs,
        member: write.member,
        text: `${write.member} stores ${write.value} (own copy)`,
        kind: 'commit',
      })),
    ]
      .filter((line) => line.atMs >= CUT_AT_MS - 50)
      // At one instant: the client's request, then the coordinator's own write, then the outcome.
      .sort((a, b) => a.atMs - b.atMs || rank(a) - rank(b)),
  });
  return { answer, copies, svg, traceHash: cluster.traceHash };
}
