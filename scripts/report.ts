/**
 * `npm run report -- [--local] [--by campaign,day] [--tz Europe/Berlin] [--from D] [--to D]
 *                    [--campaign a,b] [--filter campaign=demo,sub1=adset-7] [--source auto|raw|rollups]
 *                    [--json | --csv | --html FILE] [--stats] [--include-tests] [--stack NAME]`
 */
import './cli-setup';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load';
import { readCatalog } from '../lambda/adapters/catalog';
import { reportPorts } from '../lambda/adapters/report-ports';
import { newStats } from '../lambda/adapters/report-source';
import {
  FILTER_KEYS,
  GROUP_KEYS,
  clickCoverage,
  formatCsv,
  formatJson,
  formatTable,
  isTimeZone,
  nextDay,
  parseFilter,
  reportCampaigns,
  startOfDay,
  zonedParts,
  type GroupKey,
  type ReportFilter,
} from '../lambda/core/report';
import { runReport, type SourceChoice } from '../lambda/core/report-run';
import { rollupEras } from '../lambda/core/rollup-upkeep';
import { reportHtml } from './report-html';
import { CLI_NEEDS, DEFAULT_STACK, neededVariables, openTracker } from './tracker-context';

const USAGE = `Usage: npm run report -- [options]
  --local             the local tracker's data (.data/), else the deployed stack (AWS credentials)
  --by KEYS           comma list of ${GROUP_KEYS.join(', ')} (default campaign)
  --tz ZONE           time zone for day/hour and for --from/--to (default UTC), e.g. Europe/Berlin
  --from YYYY-MM-DD   first day (default: 29 days before --to)
  --to YYYY-MM-DD     last day, inclusive (default: today)
  --campaign IDS      comma list of campaign ids (default: every campaign in the config, and
                      every retired one the catalog knows)
  --filter K=V,...    only what matches, e.g. campaign=demo,sub1=adset-7 (keys: ${FILTER_KEYS.join(', ')};
                      an empty value means "none": sub2=)
  --source WHERE      auto (default): rollups wherever they answer, the rest raw; raw: every click
                      and conversion one by one (for checks); rollups: refuse what rollups cannot answer
  --stats             one JSON line on stderr: {"source","items","queries","readUnits","ms"}
  --json | --csv      machine-readable output (default: an aligned table)
  --html FILE         also write a self-contained page with the table and a daily chart
  --include-tests     also count Digistore24 test orders (api_mode=test, kept with recordTestOrders)
  --stack NAME        the deployed stack (default ${DEFAULT_STACK}), unless
                      ${neededVariables(CLI_NEEDS.report).join(', ')} are set`;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const SOURCES: readonly SourceChoice[] = ['auto', 'raw', 'rollups'];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      local: { type: 'boolean' },
      by: { type: 'string' },
      tz: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      campaign: { type: 'string' },
      filter: { type: 'string' },
      source: { type: 'string' },
      stats: { type: 'boolean' },
      json: { type: 'boolean' },
      csv: { type: 'boolean' },
      html: { type: 'string' },
      'include-tests': { type: 'boolean' },
      stack: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const by = (values.by ?? 'campaign').split(',').map((k) => k.trim()).filter(Boolean);
  const unknown = by.filter((k) => !(GROUP_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new Error(`--by: unknown key(s) ${unknown.join(', ')}; use ${GROUP_KEYS.join(', ')}`);
  const timeZone = values.tz ?? 'UTC';
  if (!isTimeZone(timeZone)) throw new Error(`--tz: "${timeZone}" is not a time zone (e.g. UTC, Europe/Berlin, America/New_York)`);
  if (values.json && values.csv) throw new Error('choose one of --json and --csv');
  const source = (values.source ?? 'auto') as SourceChoice;
  if (!SOURCES.includes(source)) throw new Error(`--source: "${values.source}" is not one of ${SOURCES.join(', ')}`);
  let filter: ReportFilter = {};
  if (values.filter !== undefined) {
    try {
      filter = parseFilter(values.filter);
    } catch (err) {
      throw new Error(`--filter: ${(err as Error).message}`);
    }
  }
  const toDay = values.to ?? zonedParts(new Date().toISOString(), timeZone).day;
  if (!DAY.test(toDay)) throw new Error(`--to: "${toDay}" is not a date (YYYY-MM-DD)`);
  let fromDay = values.from;
  if (fromDay === undefined) {
    const d = new Date(`${toDay}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() - 29);
    fromDay = d.toISOString().slice(0, 10);
  }
  if (!DAY.test(fromDay)) throw new Error(`--from: "${fromDay}" is not a date (YYYY-MM-DD)`);
  if (fromDay > toDay) throw new Error(`--from ${fromDay} is after --to ${toDay}`);

  const config = loadConfig();
  const from = startOfDay(fromDay, timeZone);
  const to = startOfDay(nextDay(toDay), timeZone);
  const machine = values.json === true || values.csv === true;
  const showProgress = process.stderr.isTTY === true && !machine;
  const now = new Date();

  // A report reads clicks, conversions, the catalog and the rollups: no queue, no other table (CLI_NEEDS.report).
  const tracker = await openTracker({ local: values.local === true, ...(values.stack ? { stack: values.stack } : {}) }, CLI_NEEDS.report);
  try {
    // Campaigns and retention as deployed: the catalog (every campaign ever deployed, the
    // retention histories); the config alone for a local data directory older than the catalog.
    const catalog = await readCatalog(tracker.client, tracker.tables.catalog);
    if (!catalog) process.stderr.write('report: no catalog table yet (start `npm start` once): campaigns come from the config only.\n');
    const known = reportCampaigns(config.campaigns.map((c) => c.id), catalog?.campaigns);
    const campaigns = values.campaign ? values.campaign.split(',').map((c) => c.trim()).filter(Boolean) : known.campaigns;
    const groupBy = by as GroupKey[];
    const stats = newStats();
    // A long read shows how far it got (a terminal only: machine output stays clean).
    const progress = showProgress
      ? setInterval(() => process.stderr.write(`\r\x1b[Kread ${stats.items} items, ${stats.capacityUnits.toFixed(1)} RCU`), 500)
      : undefined;
    const result = await runReport(
      {
        by: groupBy,
        timeZone,
        fromDay,
        toDay,
        from,
        to,
        campaigns,
        // Organic sales belong to no campaign: they are shown when the report is not narrowed to some.
        includeUnattributed: values.campaign === undefined,
        includeTests: values['include-tests'] === true,
        filter,
        source,
        costCurrency: config.defaults.currency,
        retired: known.retired,
        clickCoverage: clickCoverage(catalog?.retention ?? [], config.defaults.clickRetentionDays, now),
        rollupRetention: rollupEras(catalog?.rollupRetention ?? [], config.defaults.rollupRetentionDays),
        now,
        // The chart follows the report's finest time grouping: hours when it is grouped by hour.
        ...(values.html ? { chartBy: [groupBy.includes('hour') ? 'hour' : 'day'] as GroupKey[] } : {}),
      },
      reportPorts(tracker.client, tracker.tables, stats),
    ).finally(() => {
      if (progress) {
        clearInterval(progress);
        process.stderr.write('\r\x1b[K');
      }
    });
    const { rows, notice, stats: read } = result;
    if (values.json) process.stdout.write(`${formatJson(rows)}\n`);
    else if (values.csv) process.stdout.write(`${formatCsv(rows, groupBy)}\n`);
    else process.stdout.write(`${formatTable(rows, groupBy, notice)}\n`);
    // Machine output stays parseable; the notices still reach the person running it.
    if (machine && notice) process.stderr.write(`${notice}\n`);
    if (result.spendNotice) process.stderr.write(`${result.spendNotice}\n`);
    if (!machine) {
      const where = read.source === 'raw' ? `raw (${read.reason ?? 'every click and conversion'})` : read.source === 'mixed' ? `rollups, ${read.reason ?? ''}` : 'rollups';
      process.stderr.write(
        `\n${fromDay} to ${toDay} (${timeZone}); conversions counted on their click's day. ` +
          `Read ${read.items} items in ${read.queries} queries, ${read.readUnits.toFixed(1)} read capacity units, ${read.ms} ms: ${where}.\n` +
          (rows.some((r) => r.costSource === 'clickUrl' || r.costSource === 'clickUrl+spend')
            ? `Cost: from the click URLs' cost= parameter, taken only for campaigns with cost.fromUrl and capped at their cost.max (${config.defaults.currency}).\n`
            : '') +
          (rows.some((r) => r.costSource === 'spend' || r.costSource === 'clickUrl+spend') ? `Cost: imported ad spend (npm run spend) included (${config.defaults.currency}).\n` : '') +
          (values['include-tests'] ? `Including ${result.tests} test conversion(s) (Digistore24 api_mode=test).\n` : ''),
      );
    }
    if (values.stats) {
      process.stderr.write(`${JSON.stringify({ source: read.source, items: read.items, queries: read.queries, readUnits: read.readUnits, ms: read.ms, ...(read.reason ? { reason: read.reason } : {}) })}\n`);
    }
    if (values.html) {
      writeFileSync(values.html, reportHtml({ rows, by: groupBy, chart: result.chartRows ?? [], title: `Clickvault report ${fromDay} to ${toDay} (${timeZone})`, ...(notice ? { notice } : {}) }));
      if (!machine) process.stderr.write(`Wrote ${values.html}\n`);
    }
  } finally {
    await tracker.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`report: ${(err as Error).message}\n`);
  process.exit(1);
});
