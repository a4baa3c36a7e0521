/**
 * `npm run export -- --google-ads [--local] --from D --to D [--tz Z] [--conversion-name NAME]
 *                    [--out FILE] [--stack NAME]`
 *
 * Google Ads' offline conversion import file (CSV) for every gclid conversion recorded from the
 * first day to the last (inclusive, in `--tz`, default UTC): no API credentials needed. Upload it
 * in Google Ads (Goals -> Conversions -> Uploads) or schedule an import of it.
 */
import './cli-setup';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load';
import { readCatalog } from '../lambda/adapters/catalog';
import { clickIdParamsOf, conversionsRecordedBetween } from '../lambda/adapters/export-source';
import { newStats } from '../lambda/adapters/report-source';
import { googleAdsCsv, selectExportRows, type ExportConversion } from '../lambda/core/google-ads-export';
import { clickIdParams } from '../lambda/core/platforms';
import { isTimeZone, nextDay, reportCampaigns, startOfDay } from '../lambda/core/report';
import { terminalSafe, terminalSafeLines } from '../lambda/core/terminal-safe';
import { CLI_NEEDS, DEFAULT_STACK, openTracker } from './tracker-context';

const USAGE = `Usage: npm run export -- --google-ads --from YYYY-MM-DD --to YYYY-MM-DD [options]
  --google-ads            Google Ads' offline conversion import file (CSV), for gclid conversions
  --from, --to            first and last day the conversions were recorded (inclusive)
  --tz ZONE               time zone of the days and of the file's Conversion Time (default UTC)
  --conversion-name NAME  the Google Ads conversion action's name for every row (default: the
                          type's platformEvents['google-ads'] when it is a name, else the type)
  --out FILE              write the file there (default: standard output)
  --local                 the local tracker's data (npm start), else the deployed stack
  --stack NAME            the deployed stack (default ${DEFAULT_STACK})`;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'google-ads': { type: 'boolean' },
      local: { type: 'boolean' },
      from: { type: 'string' },
      to: { type: 'string' },
      tz: { type: 'string' },
      'conversion-name': { type: 'string' },
      out: { type: 'string' },
      stack: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values['google-ads']) throw new Error('name the format: --google-ads (the only one so far)');
  const timeZone = values.tz ?? 'UTC';
  if (!isTimeZone(timeZone)) throw new Error(`--tz: "${timeZone}" is not a time zone (e.g. UTC, Europe/Berlin)`);
  const fromDay = values.from;
  const toDay = values.to;
  if (fromDay === undefined || !DAY.test(fromDay)) throw new Error(`--from: give the first day as YYYY-MM-DD${fromDay ? `, got "${fromDay}"` : ''}`);
  if (toDay === undefined || !DAY.test(toDay)) throw new Error(`--to: give the last day as YYYY-MM-DD${toDay ? `, got "${toDay}"` : ''}`);
  if (fromDay > toDay) throw new Error(`--from ${fromDay} is after --to ${toDay}`);
  const name = values['conversion-name'];
  if (name !== undefined && (name.trim() === '' || name.length > 100 || /[\u0000-\u001f]/.test(name))) throw new Error('--conversion-name: 1-100 printable characters');

  const config = loadConfig();
  const from = startOfDay(fromDay, timeZone);
  const to = startOfDay(nextDay(toDay), timeZone);
  const tracker = await openTracker({ local: values.local === true, ...(values.stack ? { stack: values.stack } : {}) }, CLI_NEEDS.export);
  try {
    const catalog = await readCatalog(tracker.client, tracker.tables.catalog);
    const { campaigns } = reportCampaigns(config.campaigns.map((c) => c.id), catalog?.campaigns);
    const stats = newStats();
    const conversions: (ExportConversion & { conversionKey: string })[] = [];
    for (const campaign of campaigns) {
      for await (const c of conversionsRecordedBetween(tracker.client, tracker.tables.conversions, campaign, from, to, stats)) conversions.push(c);
    }
    // Channels that take the click id from several parameters (gclid, gbraid, wbraid): which one.
    const multi = new Set(config.trafficChannels.filter((c) => clickIdParams(c).length > 1).map((c) => c.id));
    const ask = conversions.filter((c) => c.channelClickId && c.channelId && multi.has(c.channelId));
    const params = ask.length > 0 ? await clickIdParamsOf(tracker.client, tracker.tables.conversions, ask, stats) : new Map<string, string>();
    for (const c of ask) {
      const param = params.get(`${c.clickId}|${c.conversionKey}`);
      if (param !== undefined) c.channelClickIdParam = param;
    }
    const selection = selectExportRows(conversions, config, name);
    const csv = googleAdsCsv(selection.rows, timeZone);
    if (values.out) writeFileSync(values.out, csv);
    else process.stdout.write(csv);
    const skipped = Object.entries(selection.skipped).map(([why, n]) => `${n} without a gclid: ${why}`);
    const named = Object.entries(selection.names).map(([type, n]) => `${type} as "${n}"`).join(', ');
    process.stderr.write(
      terminalSafeLines(
        [
          `${selection.rows.length} conversion(s) from ${fromDay} to ${toDay} (${timeZone})${values.out ? ` written to ${values.out}` : ''}; types ${named || 'none'}.`,
          ...skipped,
          `Read ${stats.items} item(s) in ${stats.queries} request(s), ${stats.capacityUnits} read unit(s).`,
        ].join('\n'),
      ) + '\n',
    );
  } finally {
    await tracker.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`export: ${terminalSafe((err as Error).message)}\n`);
    process.exit(1);
  });
}
