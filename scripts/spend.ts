/**
 * `npm run spend -- import FILE.csv [--local] [--dry-run]` and
 * `npm run spend -- list [--local] [--campaign ID] [--from D] [--to D] [--json]`: ad spend per
 * campaign, ad set (sub1), ad (sub2/sub3) and day, for channels that put no cost in the click URL.
 * It becomes `cost` (and profit and ROI) in the report rows it belongs to.
 */
import './cli-setup';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load';
import { readCatalog } from '../lambda/adapters/catalog';
import { importSpend, readSpend } from '../lambda/adapters/spend-store';
import { parseSpendCsv, SpendFileError, type SpendRow } from '../lambda/core/spend';
import { CLI_NEEDS, DEFAULT_STACK, openTracker } from './tracker-context';

const USAGE = `Usage:
  npm run spend -- import FILE.csv [--local] [--dry-run]
      columns campaign,day,sub1,sub2,sub3,amount,currency (a header line; sub1..sub3 optional),
      e.g. "demo,2026-11-24,adset-7,ad-3,,12.50,EUR". Every row is checked first: one bad row and
      nothing is written. For each campaign and day in the file, its rows replace the ones
      imported before (importing the same file twice changes nothing).
  npm run spend -- list [--local] [--campaign ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]
  --stack NAME   the deployed stack (default ${DEFAULT_STACK}); --local: the local tracker's data`;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Printable text: control characters (and so terminal escapes) are shown, not sent. */
const shown = (text: string) => JSON.stringify(text).slice(1, -1);

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      local: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      campaign: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      json: { type: 'boolean' },
      stack: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  const [command, file] = positionals;
  if (values.help || (command !== 'import' && command !== 'list')) {
    process.stdout.write(`${USAGE}\n`);
    if (!values.help) process.exitCode = 1;
    return;
  }
  for (const [name, day] of [['--from', values.from], ['--to', values.to]] as const) {
    if (day !== undefined && !DAY.test(day)) throw new Error(`${name}: "${day}" is not a date (YYYY-MM-DD)`);
  }
  const config = loadConfig();
  let text: string | undefined;
  if (command === 'import') {
    if (!file) throw new Error('import: name the CSV file, e.g. npm run spend -- import spend.csv --local');
    text = readFileSync(file, 'utf8');
  }
  const tracker = await openTracker({ local: values.local === true, ...(values.stack ? { stack: values.stack } : {}) }, CLI_NEEDS.spend);
  try {
    const catalog = await readCatalog(tracker.client, tracker.tables.catalog);
    const campaigns = new Set([...config.campaigns.map((c) => c.id), ...(catalog?.campaigns.map((c) => c.id) ?? [])]);
    if (command === 'import') {
      const rows = parseSpendCsv(text ?? '', { campaigns, currency: config.defaults.currency });
      const total = rows.reduce((sum, r) => sum + Number(r.amount), 0);
      if (values['dry-run']) {
        process.stdout.write(`${rows.length} row(s) are valid (${total.toFixed(2)} ${config.defaults.currency}); --dry-run: nothing written.\n`);
        return;
      }
      const result = await importSpend(tracker.client, tracker.tables.rollups, rows, basename(file ?? ''));
      process.stdout.write(
        `Imported ${result.written} row(s) for ${result.days} campaign-day(s), ${total.toFixed(2)} ${config.defaults.currency} in all` +
          `${result.removed > 0 ? `; removed ${result.removed} row(s) of those days that the file no longer has` : ''}.\n`,
      );
      return;
    }
    const list: SpendRow[] = [];
    for (const campaign of values.campaign ? [values.campaign] : [...campaigns].sort()) {
      list.push(...(await readSpend(tracker.client, tracker.tables.rollups, campaign, values.from ?? '0000-01-01', values.to ?? '9999-12-31')));
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      return;
    }
    const header = ['campaign', 'day', 'sub1', 'sub2', 'sub3', 'amount', 'currency'];
    const lines = list.map((r) => [r.campaignId, r.day, r.sub1 ?? '-', r.sub2 ?? '-', r.sub3 ?? '-', r.amount, r.currency].map(shown));
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
    const fmt = (cells: string[]) => cells.map((c, i) => (i === 5 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
    process.stdout.write(`${[fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n')}\n`);
    process.stdout.write(`${list.length} row(s).\n`);
  } finally {
    await tracker.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(err instanceof SpendFileError ? `spend: ${err.message}\n` : `spend: ${(err as Error).message}\n`);
  process.exit(1);
});
