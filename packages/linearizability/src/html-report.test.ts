import { describe, expect, it } from 'vitest';
import { checkHistory } from './check.js';
import type { HistoryEvent } from './history.js';
import { renderHtmlReport } from './html-report.js';
import { keyValueModel } from './key-value-model.js';

describe('renderHtmlReport', () => {
  it('draws a self-contained, escaped timeline of the failing key', () => {
    const model = keyValueModel();
    const history: HistoryEvent[] = [
      { process: 'c<1>', type: 'invoke', op: 'put', key: 'k', value: '<script>' },
      { process: 'c<1>', type: 'ok', op: 'put', key: 'k' },
      { process: 2, type: 'invoke', op: 'append', key: 'k', value: 'x' },
      { process: 3, type: 'invoke', op: 'get', key: 'k' },
      { process: 3, type: 'ok', op: 'get', key: 'k', value: 'nope' },
    ];
    const result = checkHistory(history, { model });
    if (result.outcome !== 'not-linearizable') throw new Error('expected a failure');
    const html = renderHtmlReport(result, { model, title: 'a & b' });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain('Not linearizable: a &#38; b');
    expect(html).toContain('process c&#60;1&#62;');
    expect(html).toContain('class="failing"');
    expect(html).toContain('class="placed"');
    expect(html).toMatch(/class="\w+ open"/);
    expect(html).toContain('get → &#34;nope&#34;');
  });
});
