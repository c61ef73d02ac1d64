// The README's example, kept runnable.
import { expect, it } from 'vitest';
import {
  FollowerHighWaterMark,
  LeaderHighWaterMark,
  type RequestAbandonedError,
  RequestWaitingList,
} from './index.js';

it('runs the README example', async () => {
  const log = [1, 1, 2];
  const leader = new LeaderHighWaterMark({
    leader: 'athens',
    followers: ['byzantium', 'cyrene'],
    generation: 2,
    generationOf: (index) => log[index - 1]!,
  });
  const waiting = new RequestWaitingList<string>();
  const answer = waiting.add(3);

  expect(leader.recordMatchIndex('athens', 3)).toBe(0);
  expect(leader.recordMatchIndex('cyrene', 3)).toBe(3);
  waiting.advanceTo(leader.highWaterMark, (index) => `applied entry ${index}`);
  expect(await answer).toBe('applied entry 3');

  const follower = new FollowerHighWaterMark();
  expect(follower.update(leader.highWaterMark, 2)).toBe(2);

  const pending = waiting.add(4);
  waiting.rejectAll('unknown', 'leadership lost');
  const outcome = await pending.catch((error: RequestAbandonedError) => error.outcome);
  expect(outcome).toBe('unknown');
});
