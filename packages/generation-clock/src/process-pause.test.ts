// The README's story: a leader is frozen by a long GC pause, the others elect a new leader in a
// higher generation, and the old leader wakes up still believing it leads. Its requests carry
// its old generation, so every server rejects them, and it learns the new generation and steps down.
import { describe, expect, it } from 'vitest';
import { GenerationClock } from './generation-clock.js';
import { InMemoryGenerationStore } from './in-memory-generation-store.js';

interface Server {
  readonly name: string;
  readonly clock: GenerationClock;
  role: 'leader' | 'follower' | 'candidate';
}

async function server(name: string): Promise<Server> {
  return {
    name,
    clock: await GenerationClock.open(new InMemoryGenerationStore()),
    role: 'follower',
  };
}

/** A follower's answer to a replication request: reject the past, adopt the future. */
async function handleAppend(
  follower: Server,
  generation: number,
): Promise<{ accepted: boolean; generation: number }> {
  if (follower.clock.isStale(generation))
    return { accepted: false, generation: follower.clock.current };
  if (await follower.clock.observe(generation)) follower.role = 'follower';
  return { accepted: true, generation: follower.clock.current };
}

/** Runs an election for `candidate`, with the votes of the reachable `voters`. */
async function elect(candidate: Server, voters: Server[]): Promise<number> {
  const generation = await candidate.clock.next({ votedFor: candidate.name });
  candidate.role = 'candidate';
  let votes = 1;
  for (const voter of voters) if (await voter.clock.vote(candidate.name, generation)) votes += 1;
  if (votes >= 2) candidate.role = 'leader';
  return generation;
}

describe('the process-pause story', () => {
  it('a leader frozen by a GC pause wakes up, is rejected, and steps down', async () => {
    const athens = await server('athens');
    const byzantium = await server('byzantium');
    const cyrene = await server('cyrene');

    const first = await elect(athens, [byzantium, cyrene]);
    expect(athens.role).toBe('leader');
    expect(first).toBe(1);

    // athens freezes. The followers stop hearing from it and byzantium wins generation 2.
    const second = await elect(byzantium, [cyrene]);
    expect(byzantium.role).toBe('leader');
    expect(second).toBe(2);
    expect(cyrene.clock.votedFor).toBe('byzantium');

    // athens wakes up still a leader in its mind and replicates with generation 1.
    const answers = await Promise.all([
      handleAppend(byzantium, first),
      handleAppend(cyrene, first),
    ]);
    expect(answers).toEqual([
      { accepted: false, generation: 2 },
      { accepted: false, generation: 2 },
    ]);
    // The rejection carries the current generation: athens adopts it and steps down.
    if (await athens.clock.observe(Math.max(...answers.map((answer) => answer.generation)))) {
      athens.role = 'follower';
    }
    expect(athens.role).toBe('follower');
    expect(athens.clock.current).toBe(2);
    // The new leader's requests are accepted everywhere, athens included.
    expect(await handleAppend(athens, second)).toEqual({ accepted: true, generation: 2 });
    // And athens cannot vote a second time in generation 2 for itself or anyone else.
    expect(await athens.clock.vote('athens', 2)).toBe(true);
    expect(await athens.clock.vote('cyrene', 2)).toBe(false);
  });
});
