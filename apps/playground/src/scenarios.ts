import { parseFaultScript } from './fault-script.js';
import type { PlaygroundConfig } from './playground-config.js';

/** A run worth watching, one click away, tied to the guide that explains it. */
export interface Scenario {
  /** The id in links: the playground page's heading of the scenario has this id too. */
  readonly id: string;
  readonly title: string;
  /** The pattern guide that explains what the scenario shows (under docs/guides/patterns/). */
  readonly guide: string;
  /** What to watch for. */
  readonly watch: string;
  readonly config: PlaygroundConfig;
  /** Virtual time by which everything worth seeing has happened. */
  readonly endMs: number;
}

/** Twelve puts 150 ms apart from `startMs`: enough entries for a snapshot and a compacted log. */
function manyPuts(startMs: number): string {
  return Array.from({ length: 12 }, (_, n) => `@${startMs + n * 150} put k${n + 1}=${n + 1}`).join(
    '; ',
  );
}

/** The scenarios, in the order the page lists them. */
export const scenarios: readonly Scenario[] = [
  {
    id: 'leader-crash',
    title: 'Leader crash',
    guide: 'leader-follower.md',
    watch:
      'The leader dies. Its followers stop hearing heartbeats, one times out, wins a quorum of votes in a new generation, and the cluster commits again. The old leader restarts as a follower.',
    config: {
      seed: 1,
      members: 3,
      script: parseFaultScript(
        '@3000 put x=1; @3500 crash leader; @7000 put x=2; @8000 restart previous',
      ),
    },
    endMs: 11_000,
  },
  {
    id: 'partitioned-leader',
    title: 'Partitioned leader: split brain prevented',
    guide: 'quorum.md',
    watch:
      'The leader is cut off. It can still append a put to its own log, but never commit it: no quorum stores it. The majority elects a new leader; when the network heals, the old leader sees the newer generation, steps down, and its uncommitted entry is replaced.',
    config: {
      seed: 2,
      members: 3,
      script: parseFaultScript(
        '@3000 put x=1; @3500 isolate leader; @3700 put x=2 to previous; @7000 put x=3; @9000 heal',
      ),
    },
    endMs: 12_000,
  },
  {
    id: 'paused-leader',
    title: 'Paused leader wakes with an old generation',
    guide: 'generation-clock.md',
    watch:
      'The leader freezes (a long GC pause). The others elect a new leader in a higher generation. When the old leader wakes it still believes it leads, but every message it sends carries its old generation and is rejected; it learns the new generation and steps down.',
    config: {
      seed: 3,
      members: 3,
      script: parseFaultScript(
        '@3000 put x=1; @3500 pause leader; @7000 put x=2; @8000 resume previous',
      ),
    },
    endMs: 11_000,
  },
  {
    id: 'snapshot-catch-up',
    title: 'Follower catches up by snapshot',
    guide: 'low-water-mark.md',
    watch:
      'A follower is down while the others commit a dozen entries and take snapshots, which move their low-water marks past what the follower has. When it restarts, the entries it lacks are gone from every log, so the leader sends it a snapshot.',
    config: {
      seed: 4,
      members: 3,
      script: parseFaultScript(`@2500 crash follower; ${manyPuts(3000)}; @6500 restart previous`),
    },
    endMs: 10_000,
  },
  {
    id: 'five-server-quorum-split',
    title: 'Five servers split two and three',
    guide: 'quorum.md',
    watch:
      'Five members split into two and three, with the leader on the small side. The two cannot commit (a quorum of five is three); the three elect a leader and go on. Two majorities always overlap, so the halves can never both decide.',
    config: {
      seed: 5,
      members: 5,
      script: parseFaultScript(
        '@3000 put x=1; @3500 partition leader,follower; @3700 put x=2 to previous; @7500 put x=3; @10000 heal',
      ),
    },
    endMs: 13_000,
  },
];

/** The scenario with this id, if any. */
export function scenarioById(id: string): Scenario | undefined {
  return scenarios.find((scenario) => scenario.id === id);
}
