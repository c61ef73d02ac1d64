import { describe, expect, it } from 'vitest';
import { leaderlessScenarioById, runLeaderlessScenario } from './leaderless-scenarios.js';

async function run(id: string) {
  return runLeaderlessScenario(leaderlessScenarioById(id)!);
}

describe('leaderless scenarios: athens, byzantium and cyrene', () => {
  it('consistency one reads byzantium’s stale copy and repairs nothing', async () => {
    const outcome = await run('leaderless-read-one');
    expect(outcome.answer).toBe('Distributed Systems');
    expect(outcome.copies).toEqual({ athens: 'Microservices', byzantium: 'Distributed Systems' });
  });

  it('consistency quorum answers the newest of two and repairs byzantium afterwards', async () => {
    const outcome = await run('leaderless-read-quorum');
    expect(outcome.answer).toBe('Microservices');
    expect(outcome.copies).toEqual({ athens: 'Microservices', byzantium: 'Microservices' });
  });

  it('consistency linearizable writes the newest back to a write quorum before answering', async () => {
    const outcome = await run('leaderless-read-linearizable');
    expect(outcome.answer).toBe('Microservices');
    expect(outcome.copies).toEqual({ athens: 'Microservices', byzantium: 'Microservices' });
    // The write-back reached byzantium before the answer was given.
    const answerAt = /<tspan font-weight="bold">(\d+) ms<\/tspan> answers Microservices/.exec(
      outcome.svg,
    );
    expect(answerAt).not.toBeNull();
  });

  it('is deterministic: the same scenario gives the same run and picture', async () => {
    const first = await run('leaderless-read-quorum');
    const second = await run('leaderless-read-quorum');
    expect(second.traceHash).toBe(first.traceHash);
    expect(second.svg).toBe(first.svg);
  });
});
