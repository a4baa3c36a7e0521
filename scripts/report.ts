/**
 * `npm run report -- [--local] [--by campaign,day] [--tz Europe/Berlin] [--from D] [--to D]
 *                    [--campaign a,b] [--json | --csv | --html FILE] [--stack NAME]`
 */
import './cli-setup';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load';
import { readCatalog } from '../lambda/adapters/catalog';
import {
  GROUP_KEYS,
  ReportBuilder,
  clickCoverage,
  formatCsv,
  formatJson,
  formatTable,
  isTimeZone,
  nextDay,
  partialNotice,
  reportCampaigns,
  startOfDay,
  zonedParts,
  type GroupKey,
  type ReportOptions,
} from '../lambda/core/report';
import { reportHtml } from './report-html';
import { streamReportData } from './report-data';
import { CLI_NEEDS, DEFAULT_STACK, neededVariables, openTracker } from './tracker-context';

const USAGE = `Usage: npm run report -- [options]
  --local             the local tracker's data (.data/), else the deployed stack (AWS credentials)
  --by KEYS           comma list of ${GROUP_KEYS.join(', ')} (default campaign)
  --tz ZONE           time zone for day/hour and for --from/--to (default UTC), e.g. Europe/Berlin
  --from YYYY-MM-DD   first day (default: 29 days before --to)
  --to YYYY-MM-DD     last day, inclusive (default: today)
  --campaign IDS      comma list of campaign ids (default: every campaign in the config, and
                      every retired one the catalog knows)
  --json | --csv      machine-readable output (default: an aligned table)
  --html FILE         also write a self-contained page with the table and a daily chart
  --include-tests     also count Digistore24 test orders (api_mode=test, kept with recordTestOrders)
  --stack NAME        the deployed stack (default ${DEFAULT_STACK}), unless
                      ${neededVariables(CLI_NEEDS.report).join(', ')} are set`;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      local: { type: 'boolean' },
      by: { type: 'string' },
      tz: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      campaign: { type: 'string' },
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

  // A report reads clicks, conversions and the catalog: no queue, no other table (CLI_NEEDS.report).
  const tracker = await openTracker({ local: values.local === true, ...(values.stack ? { stack: values.stack } : {}) }, CLI_NEEDS.report);
  try {
    // Campaigns and retention as deployed: the catalog (every campaign ever deployed, the
    // retention history); the config alone for a local data directory older than the catalog.
    const catalog = await readCatalog(tracker.client, tracker.tables.catalog);
    if (!catalog) process.stderr.write('report: no catalog table yet (start `npm start` once): campaigns come from the config only.\n');
    const known = reportCampaigns(config.campaigns.map((c) => c.id), catalog?.campaigns);
    const campaigns = values.campaign ? values.campaign.split(',').map((c) => c.trim()).filter(Boolean) : known.campaigns;
    const groupBy = by as GroupKey[];
    const options: ReportOptions = {
      by: groupBy,
      timeZone,
      costCurrency: config.defaults.currency,
      completeness: { range: { from, to }, coverage: clickCoverage(catalog?.retention ?? [], config.defaults.clickRetentionDays, now) },
      retired: known.retired,
    };
    const main = new ReportBuilder(options);
    // The chart follows the report's finest time grouping: hours when it is grouped by hour.
    const chart = new ReportBuilder({ ...options, by: [groupBy.includes('hour') ? 'hour' : 'day'] });
    const data = await streamReportData({
      client: tracker.client,
      tables: tracker.tables,
      campaigns,
      from,
      to,
      // Organic sales belong to no campaign: they are shown when the report is not narrowed to some.
      includeUnattributed: values.campaign === undefined,
      includeTests: values['include-tests'] === true,
      ...(showProgress ? { onProgress: (m: string) => process.stderr.write(`\r\x1b[K${m}`) } : {}),
    }, values.html ? [main, chart] : [main]);
    if (showProgress) process.stderr.write('\r\x1b[K');
    const rows = main.rows();
    const notice = partialNotice(options);
    // formatJson escapes C1 and bidi controls like terminalJson, and keeps money exact.
    if (values.json) process.stdout.write(`${formatJson(rows)}\n`);
    else if (values.csv) process.stdout.write(`${formatCsv(rows, groupBy)}\n`);
    else process.stdout.write(`${formatTable(rows, groupBy, notice)}\n`);
    // Machine output stays parseable; the notice still reaches the person running it.
    if (machine && notice) process.stderr.write(`${notice}\n`);
    if (!machine) {
      process.stderr.write(
        `\n${fromDay} to ${toDay} (${timeZone}); conversions counted on their click's day. ` +
          `Read ${data.clicks} clicks and ${data.conversions} conversions (${data.stats.items} items) in ${data.stats.queries} queries, ${data.stats.capacityUnits.toFixed(1)} read capacity units.\n` +
          (rows.some((r) => r.costSource !== undefined)
            ? `Cost: from the click URLs' cost= parameter, taken only for campaigns with cost.fromUrl and capped at their cost.max (${config.defaults.currency}).\n`
            : '') +
          (values['include-tests'] ? `Including ${data.tests} test conversion(s) (Digistore24 api_mode=test).\n` : ''),
      );
    }
    if (values.html) {
      writeFileSync(values.html, reportHtml({ rows, by: groupBy, chart: chart.rows(), title: `Clickvault report ${fromDay} to ${toDay} (${timeZone})`, ...(notice ? { notice } : {}) }));
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
