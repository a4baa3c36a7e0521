/**
 * `npm run report -- [--local] [--by campaign,day] [--tz Europe/Berlin] [--from D] [--to D]
 *                    [--campaign a,b] [--json | --csv | --html FILE] [--stack NAME]`
 */
import './cli-setup';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load';
import { GROUP_KEYS, formatCsv, formatJson, formatTable } from '../lambda/core/report';
import { InvalidInput } from '../lambda/core/postback-params';
import { parseReportQuery, reportSettings, runReport, type ReportQuery } from '../lambda/core/report-query';
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
  --json | --csv      machine-readable output (default: an aligned table)
  --html FILE         also write a self-contained page with the table and a daily chart
  --include-tests     also count Digistore24 test orders (api_mode=test, kept with recordTestOrders)
  --stack NAME        the deployed stack (default ${DEFAULT_STACK}), unless
                      ${neededVariables(CLI_NEEDS.report).join(', ')} are set`;

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
  if (values.json && values.csv) throw new Error('choose one of --json and --csv');
  // The same parsing and the same report as the dashboard's GET /api/report (core/report-query).
  let query: ReportQuery;
  try {
    query = parseReportQuery({ from: values.from, to: values.to, tz: values.tz, by: values.by, tests: values['include-tests'] ? '1' : '0' });
  } catch (err) {
    if (err instanceof InvalidInput) throw new Error(`--${err.parameter === 'tests' ? 'include-tests' : err.parameter}: ${err.problem}`);
    throw err;
  }
  if (values.campaign) query.campaigns = values.campaign.split(',').map((c) => c.trim()).filter(Boolean);
  const groupBy = query.by;
  const { fromDay, toDay, timeZone } = query;

  const config = loadConfig();
  const machine = values.json === true || values.csv === true;
  const showProgress = process.stderr.isTTY === true && !machine;

  // A report reads clicks, conversions and the catalog: no queue, no other table (CLI_NEEDS.report).
  const tracker = await openTracker({ local: values.local === true, ...(values.stack ? { stack: values.stack } : {}) }, CLI_NEEDS.report);
  try {
    const result = await runReport(query, reportSettings(config), reportPorts(tracker.client, tracker.tables), new Date(), showProgress ? (m: string) => process.stderr.write(`\r\x1b[K${m}`) : undefined);
    // Campaigns and retention as deployed: the catalog (every campaign ever deployed, the
    // retention history); the config alone for a local data directory older than the catalog.
    if (!result.catalog) process.stderr.write('report: no catalog table yet (start `npm start` once): campaigns come from the config only.\n');
    const data = result.read;
    if (showProgress) process.stderr.write('\r\x1b[K');
    const { rows, notice } = result;
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
