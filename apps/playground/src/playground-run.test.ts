import { describe, expect, it } from 'vitest';
import { parseFaultScript } from './fault-script.js';
import type { PlaygroundConfig } from './playground-config.js';
import { PlaygroundRun } from './playground-run.js';
import { scenarioById } from './scenarios.js';

/** What two runs must agree on: the simulator's trace hash, events run, and the narration. */
function traceOf(run: PlaygroundRun): { hash: string; events: number; narration: string[] } {
  const view = run.view();
  return {
    hash: view.traceHash,
    events: view.eventsRun,
    narration: run.narration.map((line) => `${line.atMs} ${line.kind} ${line.text}`),
  };
}

async function scenarioRun(id: string): Promise<PlaygroundRun> {
  const scenario = scenarioById(id)!;
  const run = await PlaygroundRun.start(scenario.config);
  await run.advanceBy(scenario.endMs);
  expect(run.view().failure).toBeUndefined();
  return run;
}

function texts(run: PlaygroundRun): string {
  return run.narration.map((line) => line.text).join('\n');
}

describe('playground run', () => {
  it('elects a new leader after the leader crashes, and the old one rejoins as a follower', async () => {
    const run = await scenarioRun('leader-crash');
    const crashed = /crash (\w+): the process dies/.exec(texts(run))?.[1];
    expect(crashed).toBeDefined();
    const view = run.view();
    expect(view.leader).toBeDefined();
    expect(view.leader!.name).not.toBe(crashed);
    expect(view.leader!.generation).toBeGreaterThanOrEqual(2);
    expect(texts(run)).toContain(
      `${view.leader!.name} leads generation ${view.leader!.generation}`,
    );
    for (const member of view.members) {
      expect(member.process).toBe('running');
      expect(member.leaderId).toBe(view.leader!.name);
      expect(member.values).toEqual([['x', '2']]);
      // Every member's log shows the same committed entries, each with its generation.
      expect(member.log.map((cell) => [cell.index, cell.generation, cell.text])).toEqual(
        view.members[0]!.log.map((cell) => [cell.index, cell.generation, cell.text]),
      );
      expect(member.log.every((cell) => cell.committed && cell.generation !== undefined)).toBe(
        true,
      );
    }
  });

  it('keeps a partitioned leader from committing (split brain prevented)', async () => {
    const run = await scenarioRun('partitioned-leader');
    const story = texts(run);
    expect(story).toMatch(/put x=2 failed: outcome unknown/);
    expect(story).toMatch(/put x=3 succeeded/);
    expect(story).toMatch(/stepped down: it heard from no quorum/);
    // Once healed, every member agrees and the isolated leader's x=2 is gone.
    for (const member of run.view().members) expect(member.values).toEqual([['x', '3']]);
  });

  it('rejects a paused leader that wakes up with its old generation', async () => {
    const story = texts(await scenarioRun('paused-leader'));
    expect(story).toMatch(
      /Stale leader stepped down: \w+ learned of generation 2, newer than its 1/,
    );
    expect(story).toMatch(/Stale leader rejected: \w+ refused \w+'s heartbeat of generation 1/);
  });

  it('catches a follower up by snapshot once it is behind the low-water mark', async () => {
    const run = await scenarioRun('snapshot-catch-up');
    const story = texts(run);
    const restarted = /restart (\w+):/.exec(story)?.[1];
    expect(story).toContain(`${restarted} caught up by snapshot`);
    const view = run.view();
    const follower = view.members.find((member) => member.name === restarted)!;
    expect(follower.lowWaterMark).toBeGreaterThan(0);
    expect(follower.values).toHaveLength(12);
    expect(view.members.every((member) => member.highWaterMark === follower.highWaterMark)).toBe(
      true,
    );
  });

  it('lets only the majority side of a five-server split commit', async () => {
    const run = await scenarioRun('five-server-quorum-split');
    const story = texts(run);
    expect(story).toMatch(/Partition: \{\w+, \w+\} cannot reach \{\w+, \w+, \w+\}/);
    expect(story).toMatch(/put x=2 failed/);
    expect(story).toMatch(/put x=3 succeeded/);
    expect(story).toMatch(/quorum \(3 of 5\)/);
    for (const member of run.view().members) expect(member.values).toEqual([['x', '3']]);
  });

  it('gives the same run for the same configuration, however it is advanced', async () => {
    const config = scenarioById('partitioned-leader')!.config;
    const endMs = 10_000;
    const inOneGo = await PlaygroundRun.start(config);
    await inOneGo.advanceBy(endMs - inOneGo.nowMs);
    const inFrames = await PlaygroundRun.start(config);
    while (inFrames.nowMs < endMs) await inFrames.advanceBy(Math.min(16.7, endMs - inFrames.nowMs));
    const byEvents = await PlaygroundRun.start(config);
    // Single events through the first scripted actions, then the rest at once.
    while (byEvents.nowMs < 3_800) await byEvents.stepOne();
    await byEvents.advanceBy(endMs - byEvents.nowMs);
    expect(traceOf(inFrames)).toEqual(traceOf(inOneGo));
    expect(traceOf(byEvents)).toEqual(traceOf(inOneGo));
    expect(inOneGo.nowMs).toBe(endMs);
  });

  it('records what the reader does so that the run can be replayed from its script', async () => {
    const live = await PlaygroundRun.start({ seed: 7, members: 3, script: [] });
    await live.advanceBy(1_500.4);
    const clickedAtMs = live.nowMs;
    await live.perform({ kind: 'put', key: 'a', value: '1' });
    for (let step = 0; step < 25; step++) await live.stepOne();
    await live.perform({ kind: 'crash', member: 'leader' });
    await live.advanceBy(2_000);
    await live.perform({ kind: 'restart', member: 'previous' });
    await live.advanceBy(1_000);
    const script = live.script;
    // A reader's action joins the script at the next whole virtual millisecond.
    expect(script[0]!.atMs).toBe(Math.ceil(clickedAtMs));
    expect(script.map((scripted) => scripted.action.kind)).toEqual(['put', 'crash', 'restart']);
    const replay: PlaygroundConfig = { seed: 7, members: 3, script };
    const again = await PlaygroundRun.start(replay);
    await again.advanceBy(live.nowMs - again.nowMs);
    expect(traceOf(again)).toEqual(traceOf(live));
  });

  it('skips an action whose member does not exist now, and says so', async () => {
    const run = await PlaygroundRun.start({
      seed: 1,
      members: 3,
      script: parseFaultScript('@5 crash previous; @6 crash nobody'),
    });
    await run.advanceBy(10);
    expect(texts(run)).toContain('Skipped: no member is "previous" now.');
    expect(texts(run)).toContain('Skipped: no member is "nobody" now.');
    expect(run.view().members.every((member) => member.process === 'running')).toBe(true);
  });

  it('shows messages in flight between members', async () => {
    const run = await PlaygroundRun.start({ seed: 1, members: 3, script: [] });
    await run.advanceBy(1_000);
    let seen = 0;
    for (let step = 0; step < 50; step++) {
      await run.stepOne();
      for (const message of run.view().messages) {
        seen++;
        expect(run.cluster.names).toContain(message.from);
        expect(run.cluster.names).toContain(message.to);
        expect(message.progress).toBeGreaterThanOrEqual(0);
        expect(message.progress).toBeLessThan(1);
        expect(message.summary).toMatch(/generation \d+/);
      }
    }
    expect(seen).toBeGreaterThan(0);
  });
});

describe('a skewed clock', () => {
  it("brings a member's next tick forward without starting an election (timeouts count ticks)", async () => {
    const run = await PlaygroundRun.start({
      seed: 1,
      members: 3,
      script: parseFaultScript('@2000 skew follower 1500; @2100 skew previous 1500'),
    });
    await run.advanceBy(2_000);
    const before = run.view().leader!;
    await run.advanceBy(3_000);
    expect(texts(run)).toMatch(/skew \w+ 1500: its monotonic clock jumps 1500 ms forward/);
    expect(run.narration.filter((line) => line.atMs >= 2_000 && line.kind === 'election')).toEqual(
      [],
    );
    expect(run.view().leader).toEqual(before);
  });
});
