/**
 * The --html page, rendered by a real browser (Debian's chromium, headless; .ci/run installs
 * it). Without chromium the suite is reported skipped and says so.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildReport, formatJson, startOfDay, type ReportOptions } from '../../lambda/core/report';
import { reportHtml } from '../../scripts/report-html';
import { loadReportData } from '../../lambda/adapters/report-data';
import { buildDataset } from './dataset';

const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  // eslint-disable-next-line no-console
  console.warn(`HTML report browser test NOT RUN: no chromium at ${CHROMIUM} (.ci/run installs Debian's chromium).`);
}
const suite = available ? describe : describe.skip;

async function renderedDom(file: string): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'cv-chromium-'));
  const { stdout } = await run(
    CHROMIUM,
    [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--window-size=1280,900',
      '--virtual-time-budget=5000', '--dump-dom', `file://${file}`,
    ],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

suite('report --html in headless Chromium', () => {
  it('draws the daily chart and shows the numbers of the JSON report', async () => {
    const data = await buildDataset();
    const loaded = await loadReportData({
      client: data.client, tables: data.tables, campaigns: ['demo', 'split'],
      from: startOfDay('2026-11-24', 'UTC'), to: startOfDay('2026-11-26', 'UTC'), includeUnattributed: true,
    });
    const options: ReportOptions = { by: ['campaign'], timeZone: 'UTC', costCurrency: 'EUR' };
    const rows = buildReport(loaded.clicks, loaded.conversions, options);
    const chart = buildReport(loaded.clicks, loaded.conversions, { ...options, by: ['day'] });
    const file = join(mkdtempSync(join(tmpdir(), 'cv-html-')), 'report.html');
    writeFileSync(file, reportHtml({ rows, by: ['campaign'], chart, title: 'Test </script><b>report</b>' }));

    const dom = await renderedDom(file);
    const painted = Number(/data-chart-painted="(\d+)"/.exec(dom)?.[1] ?? 0);
    expect(Number(/data-chart-points="(\d+)"/.exec(dom)?.[1])).toBe(2);
    expect(painted).toBeGreaterThan(5000);
    // The title is text, not markup.
    expect(dom).toContain('Test &lt;/script&gt;&lt;b&gt;report&lt;/b&gt;');

    const table = /<table id="report">([\s\S]*?)<\/table>/.exec(dom)?.[1] ?? '';
    const cells = [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) => [...(r[1] ?? '').matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) => c[1]));
    const json = JSON.parse(formatJson(rows)) as Record<string, unknown>[];
    expect(cells[0]).toEqual(['campaign', 'clicks', 'conversions', 'revenue', 'cr', 'epc', 'cost', 'profit', 'roi']);
    expect(cells.slice(1).map((r) => [r[0], Number(r[1]), r[3]])).toEqual(
      json.map((j) => [j.campaignId ?? '(unattributed)', j.clicks, Object.entries(j.revenue as Record<string, number>).map(([c, v]) => `${v.toFixed(2)} ${c}`).join(', ')]),
    );
    expect(cells[1]?.[2]).toBe('chargeback=1 payment=3 refund=1 upsell=1');
  }, 90_000);
});
