import type { ChaosResult } from './chaos-result.js';

const percent = (ratio: number): string => `${(ratio * 100).toFixed(2)}%`;

/** The terminal summary of a run: checks, then measures. */
export function formatSummary(result: ChaosResult): string {
  const lines: string[] = [];
  const width = Math.max(...result.checks.map((check) => check.name.length), 10);
  lines.push(
    `chaos run seed=${result.seed} nodes=${result.nodeCount} duration=${result.durationMs} ms`,
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
  lines.push(
    `failover (leader lost -> first successful probe write on a spared node): n=${measures.failoverMs.length}` +
      (measures.failoverP50Ms === undefined
        ? ''
        : ` p50=${Math.round(measures.failoverP50Ms)} ms p99=${Math.round(measures.failoverP99Ms ?? 0)} ms`),
  );
  const majority = measures.majoritySideDuringMinorityPartition;
  if (majority.total > 0) {
    lines.push(
      `majority side while a follower minority was partitioned: ${percent(majority.ratio)} of ${majority.total}`,
    );
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
