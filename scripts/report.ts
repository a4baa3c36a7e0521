/**
 * `npm run report -- [--local] [--by campaign,day] [--tz Europe/Berlin] [--from D] [--to D]
 *                    [--campaign a,b] [--filter campaign=demo,sub1=adset-7] [--source auto|raw|rollups]
 *                    [--json | --csv | --html FILE] [--stats] [--include-tests] [--stack NAME]`
 */
import './cli-setup';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load';
import { FILTER_KEYS, GROUP_KEYS, formatCsv, formatJson, formatTable, parseFilter as parseCliFilter } from '../lambda/core/report';
import { InvalidInput } from '../lambda/core/postback-params';
import { parseReportQuery, reportSettings, runReport, type ReportFilter, type ReportQuery } from '../lambda/core/report-query';
import type { ReportStats, SourceChoice } from '../lambda/core/report-run';
import { reportHtml } from './report-html';
import { reportPorts } from '../lambda/adapters/report-data';
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
  if (values.json && values.csv) throw new Error('choose one of --json and --csv');
  const source = (values.source ?? 'auto') as SourceChoice;
  if (!SOURCES.includes(source)) throw new Error(`--source: "${values.source}" is not one of ${SOURCES.join(', ')}`);
  // `--filter campaign=demo,sub1=adset-7` names what the dashboard's JSON filter names.
  const filter: ReportFilter = {};
  if (values.filter !== undefined) {
    try {
      for (const [key, value] of Object.entries(parseCliFilter(values.filter))) filter[key as keyof ReportFilter] = key === 'clickid' && value !== null ? value === 'yes' : value;
    } catch (err) {
      throw new Error(`--filter: ${(err as Error).message}`);
    }
  }
  // The same parsing and the same report as the dashboard's GET /api/report (core/report-query).
  let query: ReportQuery;
  try {
    query = parseReportQuery({ from: values.from, to: values.to, tz: values.tz, by: values.by, tests: values['include-tests'] ? '1' : '0' });
  } catch (err) {
    if (err instanceof InvalidInput) throw new Error(`--${err.parameter === 'tests' ? 'include-tests' : err.parameter}: ${err.problem}`);
    throw err;
  }
  if (values.campaign) query.campaigns = values.campaign.split(',').map((c) => c.trim()).filter(Boolean);
  query.filter = filter;
  query.source = source;
  const groupBy = query.by;
  const { fromDay, toDay, timeZone } = query;

  const config = loadConfig();
  const machine = values.json === true || values.csv === true;
  const showProgress = process.stderr.isTTY === true && !machine;

  // A report reads clicks, conversions, the catalog and the rollups: no queue, no other table (CLI_NEEDS.report).
  const tracker = await openTracker({ local: values.local === true, ...(values.stack ? { stack: values.stack } : {}) }, CLI_NEEDS.report);
  try {
    const result = await runReport(query, reportSettings(config), reportPorts(tracker.client, tracker.tables), new Date(), showProgress ? (m: string) => process.stderr.write(`\r\x1b[K${m}`) : undefined);
    // Campaigns and retention as deployed: the catalog (every campaign ever deployed, the
    // retention history); the config alone for a local data directory older than the catalog.
    if (!result.catalog) process.stderr.write('report: no catalog table yet (start `npm start` once): campaigns come from the config only.\n');
    if (showProgress) process.stderr.write('\r\x1b[K');
    const { rows, notice } = result;
    const read: ReportStats = result.read.report ?? { source: 'raw', items: result.read.stats.items, queries: result.read.stats.queries, readUnits: result.read.stats.capacityUnits, ms: 0 };
    // formatJson escapes C1 and bidi controls like terminalJson, and keeps money exact.
    if (values.json) process.stdout.write(`${formatJson(rows)}\n`);
    else if (values.csv) process.stdout.write(`${formatCsv(rows, groupBy)}\n`);
    else process.stdout.write(`${formatTable(rows, groupBy, notice)}\n`);
    // Machine output stays parseable; the notices still reach the person running it.
    if (machine && notice) process.stderr.write(`${notice}\n`);
    if (result.read.spendNotice) process.stderr.write(`${result.read.spendNotice}\n`);
    if (!machine) {
      const where = read.source === 'raw' ? `raw (${read.reason ?? 'every click and conversion'})` : read.source === 'mixed' ? `rollups, ${read.reason ?? ''}` : 'rollups';
      process.stderr.write(
        `\n${fromDay} to ${toDay} (${timeZone}); conversions counted on their click's day. ` +
          `Read ${read.items} items in ${read.queries} queries, ${read.readUnits.toFixed(1)} read capacity units, ${read.ms} ms: ${where}.\n` +
          (rows.some((r) => r.costSource === 'clickUrl' || r.costSource === 'clickUrl+spend')
            ? `Cost: from the click URLs' cost= parameter, taken only for campaigns with cost.fromUrl and capped at their cost.max (${config.defaults.currency}).\n`
            : '') +
          (rows.some((r) => r.costSource === 'spend' || r.costSource === 'clickUrl+spend') ? `Cost: imported ad spend (npm run spend) included (${config.defaults.currency}).\n` : '') +
          (values['include-tests'] ? `Including ${result.read.tests} test conversion(s) (Digistore24 api_mode=test).\n` : ''),
      );
    }
    if (values.stats) {
      process.stderr.write(`${JSON.stringify({ source: read.source, items: read.items, queries: read.queries, readUnits: read.readUnits, ms: read.ms, ...(read.reason ? { reason: read.reason } : {}) })}\n`);
    }
    if (values.html) {
      writeFileSync(values.html, reportHtml({ rows, by: groupBy, chart: result.chart, title: `Clickvault report ${fromDay} to ${toDay} (${timeZone})`, ...(notice ? { notice } : {}) }));
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
