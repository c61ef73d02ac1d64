import {
  checkHistory,
  registerModel,
  renderHtmlReport,
  type HistoryEvent,
} from '@x/linearizability';

/** The linearizability guide's stale read: alice's write completed before bob's read began. */
export const staleReadHistory: readonly HistoryEvent[] = [
  { process: 'alice', type: 'invoke', op: 'write', value: 'Monoliths' },
  { process: 'alice', type: 'ok', op: 'write', value: 'Monoliths' },
  { process: 'bob', type: 'invoke', op: 'read' },
  { process: 'alice', type: 'invoke', op: 'write', value: 'Microservices' },
  { process: 'bob', type: 'ok', op: 'read', value: 'Monoliths' },
  { process: 'alice', type: 'ok', op: 'write', value: 'Microservices' },
  { process: 'bob', type: 'invoke', op: 'read' },
  { process: 'bob', type: 'ok', op: 'read', value: 'Monoliths' },
];

/**
 * The timeline of `renderHtmlReport` (the report the checker writes for a failing key) for the
 * guide's stale read, cut out of the HTML page as a standalone SVG with the page's styles.
 */
export function linearizabilityPicture(): string {
  const model = registerModel();
  const result = checkHistory([...staleReadHistory], { model });
  if (result.outcome !== 'not-linearizable') {
    throw new Error(`the stale read history checked as ${result.outcome}`);
  }
  const html = renderHtmlReport(result, { model, title: 'title' });
  const svg = /<svg [^>]*>[\s\S]*?<\/svg>/.exec(html)?.[0];
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1];
  if (svg === undefined || style === undefined) throw new Error('the report has no timeline');
  // Only the rules for the timeline's own elements travel with it.
  const rules = style
    .split('\n')
    .filter((rule) => /^(svg|g|text)[ .{]/.test(rule))
    .join('\n');
  const description =
    "Timeline from the checker's HTML report: alice writes Microservices and is told ok; bob reads afterwards and gets Monoliths. The green operations are placed in a legal order, the red read is the one no order explains.";
  return `${svg
    .replace(
      /^<svg xmlns="[^"]*"/,
      '$& role="img" aria-labelledby="title desc" font-family="sans-serif"',
    )
    .replace(
      /(<svg [^>]*>)/,
      `$1\n<title id="title">A stale read found by the linearizability checker</title>\n<desc id="desc">${description}</desc>\n<style>\n${rules}\n</style>`,
    )}\n`;
}
