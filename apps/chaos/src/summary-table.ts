import type { ChaosResult } from './chaos-result.js';

const percent = (ratio: number): string => `${(ratio * 100).toFixed(2)}%`;

/** The terminal summary of a run: checks, then measures. */
export function formatSummary(result: ChaosResult): string {
  const lines: string[] = [];
  const width = Math.max(...result.checks.map((check) => check.name.length), 10);
  lines.push(
    `chaos run seed=${result.seed} nodes=${result.nodeCount} duration=${result.durationMs} ms` +
      (result.backend === undefined ? '' : ` backend=${result.backend}`),
  );
  lines.push('');
  lines.push(`${'check'.padEnd(width)}  result  detail`);
  for (const check of result.checks) {
    lines.push(
      `${check.name.padEnd(width)}  ${check.passed ? 'PASS  ' : 'FAIL  '}  ${check.detail}`,
    );
  }
  const { measures } = result;
  lines.push('');
  lines.push(
    `operations: ${measures.operations.ok} ok, ${measures.operations.fail} fail, ${measures.operations.info} info; ${measures.okPerSecond.toFixed(1)} ok/s`,
  );
  const spread = (values: readonly number[], p50: number | undefined, p99: number | undefined) =>
    `n=${values.length}` +
    (p50 === undefined ? '' : ` p50=${Math.round(p50)} ms p99=${Math.round(p99 ?? 0)} ms`);
  lines.push(
    `failover (leader lost -> first successful probe write on a spared node): ${spread(measures.failoverMs, measures.failoverP50Ms, measures.failoverP99Ms)}`,
  );
  const kills = measures.leaderKillFailoverMs;
  if (kills.length > 0) {
    lines.push(
      `  of which leader kills: ${spread(kills, measures.leaderKillFailoverP50Ms, measures.leaderKillFailoverP99Ms)}`,
    );
  }
  const elections = measures.elections;
  lines.push(
    `elections after the first leader: ${elections.elections} (${elections.explained} replaced a leader a fault took away, ${elections.falseSuspicions} false suspicions)`,
  );
  const majority = measures.majoritySideDuringMinorityPartition;
  if (majority.total > 0) {
    lines.push(
      `majority side while a follower minority was partitioned: ${percent(majority.ratio)} of ${majority.total}`,
    );
  }
  if (result.poison !== undefined) {
    const kinds = Object.entries(result.poison.byKind)
      .map(([kind, counts]) => `${kind} ${counts.expected}/${counts.sent}`)
      .join(', ');
    lines.push(`poison answered as expected / sent: ${kinds}`);
  }
  if (measures.faults.length > 0) {
    lines.push('');
    lines.push('availability during each fault (all nodes | nodes the fault spared):');
    for (const fault of measures.faults) {
      lines.push(
        `  ${percent(fault.all.ratio).padStart(7)} of ${String(fault.all.total).padStart(5)} | ${percent(fault.unaffectedNodes.ratio).padStart(7)} of ${String(fault.unaffectedNodes.total).padStart(5)}  ${fault.description}`,
      );
    }
  }
  for (const notice of result.notices) lines.push(`notice: ${notice}`);
  lines.push('');
  lines.push(`${result.passed ? 'PASSED' : 'FAILED'}; results in ${result.runDirectory}`);
  return lines.join('\n');
}
