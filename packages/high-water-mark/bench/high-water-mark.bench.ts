// Cost of the leader's high-water-mark update on the acknowledgement hot path, and of the request
// waiting list, against a naive baseline measured in the same run (copy and sort the match
// indexes on every acknowledgement). Prints JSON on stdout.
import { LeaderHighWaterMark, RequestWaitingList } from '../src/index.js';

const entries = 1_000_000;

/** The textbook computation: sort a copy of the match indexes, take the majority-th largest. */
class SortingBaseline {
  readonly #matchIndexes: number[];
  readonly #slotOf = new Map<string, number>();
  highWaterMark = 0;
  constructor(
    members: readonly string[],
    private readonly generation: number,
    private readonly generationOf: (index: number) => number,
  ) {
    this.#matchIndexes = members.map(() => 0);
    members.forEach((member, slot) => this.#slotOf.set(member, slot));
  }
  recordMatchIndex(member: string, matchIndex: number): number {
    const slot = this.#slotOf.get(member)!;
    if (matchIndex <= this.#matchIndexes[slot]!) return this.highWaterMark;
    this.#matchIndexes[slot] = matchIndex;
    const sorted = [...this.#matchIndexes].sort((a, b) => b - a);
    const candidate = sorted[Math.floor(sorted.length / 2)]!;
    if (candidate > this.highWaterMark && this.generationOf(candidate) === this.generation) {
      this.highWaterMark = candidate;
    }
    return this.highWaterMark;
  }
}

interface Tracker {
  recordMatchIndex(member: string, matchIndex: number): number;
}

// Every member acknowledges every entry, in a rotating order, as a pipelined leader would see.
function drive(tracker: Tracker, members: readonly string[]): { nsPerAck: number; mark: number } {
  const started = performance.now();
  let mark = 0;
  for (let index = 1; index <= entries; index++) {
    for (let offset = 0; offset < members.length; offset++) {
      mark = tracker.recordMatchIndex(members[(index + offset) % members.length]!, index);
    }
  }
  const elapsedMs = performance.now() - started;
  if (mark !== entries) throw new Error(`wrong mark ${mark}`);
  return { nsPerAck: (elapsedMs * 1e6) / (entries * members.length), mark };
}

function waitingList(): { nsPerRequest: number } {
  const waiting = new RequestWaitingList<number>();
  const batch = 64;
  const started = performance.now();
  for (let index = 1; index <= entries; index += batch) {
    for (let offset = 0; offset < batch; offset++) void waiting.add(index + offset);
    waiting.advanceTo(index + batch - 1, (at) => at);
  }
  const elapsedMs = performance.now() - started;
  return { nsPerRequest: (elapsedMs * 1e6) / entries };
}

const results = [];
for (const size of [1, 3, 5, 7]) {
  const members = Array.from({ length: size }, (_, i) => `server-${i}`);
  const generationOf = () => 1;
  const options = { leader: members[0]!, followers: members.slice(1), generation: 1, generationOf };
  drive(new LeaderHighWaterMark(options), members); // warm-up
  const tracker = drive(new LeaderHighWaterMark(options), members);
  const baseline = drive(new SortingBaseline(members, 1, generationOf), members);
  results.push({
    clusterSize: size,
    acknowledgements: entries * size,
    leaderHighWaterMarkNsPerAck: Number(tracker.nsPerAck.toFixed(1)),
    sortingBaselineNsPerAck: Number(baseline.nsPerAck.toFixed(1)),
  });
}
waitingList(); // warm-up
const list = waitingList();

console.log(
  JSON.stringify(
    {
      benchmark: '@x/high-water-mark',
      node: process.version,
      leaderHighWaterMark: results,
      requestWaitingList: { requests: entries, nsPerRequest: Number(list.nsPerRequest.toFixed(1)) },
    },
    null,
    2,
  ),
);
