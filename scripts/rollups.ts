/**
 * `npm run rollups -- [--local] [--stack NAME] [--recompute FROM TO] [--json]`: brings the report
 * rollups up to date now, with the same code the deployed upkeep runs on its schedule (and the
 * local server on its timer), and prints what it did. `--recompute` first marks every hour of
 * the days FROM..TO (UTC) of every campaign, so they are computed again from the raw data (a
 * repair: hours whose clicks may have expired keep their rollups).
 */
import './cli-setup';
import { parseArgs } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../config/load';
import { readCatalog } from '../lambda/adapters/catalog';
import { describeRun, runRollupUpkeep } from '../lambda/adapters/rollup-runner';
import { newStats } from '../lambda/adapters/report-source';
import { DynamoRollupStore } from '../lambda/adapters/rollup-store';
import { campaignCode } from '../lambda/core/ids';
import { UNATTRIBUTED_CLICK_ID } from '../lambda/core/model';
import { MARK_SETTLE_MS, type MarkKey } from '../lambda/core/rollup-marks';
import { HOUR_MS } from '../lambda/core/rollups';
import type { UpkeepReport } from '../lambda/core/rollup-upkeep';
import { CLI_NEEDS, DEFAULT_STACK, openTracker } from './tracker-context';

const USAGE = `Usage: npm run rollups -- [options]
  --local              the local tracker's data (.data/), else the deployed stack (AWS credentials)
  --recompute D1 D2    first mark every hour of the days D1..D2 (YYYY-MM-DD, UTC) for recomputing
  --json               what each run did, as JSON lines
  --stack NAME         the deployed stack (default ${DEFAULT_STACK})`;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** Each run stops after this long and the next one goes on (so a long catch-up shows progress). */
const RUN_BUDGET_MS = 60_000;
/** The clock here may differ from DynamoDB's by at most this much (the cut is taken from it). */
const MAX_SKEW_MS = 60_000;

/** DynamoDB's clock (the Date header of an answer) minus this machine's, in ms. */
async function clockSkew(client: DynamoDBClient, table: string): Promise<number | undefined> {
  let date: string | undefined;
  const name = 'clickvaultServerDate';
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      date ??= (result.response as { headers?: Record<string, string> }).headers?.date;
      return result;
    },
    { step: 'deserialize', name },
  );
  const before = Date.now();
  await new DynamoRollupStore(client, table).state();
  const after = Date.now();
  client.middlewareStack.remove(name);
  if (!date) return undefined;
  // The header has whole seconds: compare with the middle of the call, allow the rounding.
  return Date.parse(date) - (before + after) / 2;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { local: { type: 'boolean' }, recompute: { type: 'boolean' }, json: { type: 'boolean' }, stack: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig();
  const tracker = await openTracker({ local: values.local === true, ...(values.stack ? { stack: values.stack } : {}) }, CLI_NEEDS.rollups);
  try {
    const { client, tables } = tracker;
    if (!values.local) {
      const skew = await clockSkew(client, tables.rollups);
      if (skew !== undefined && Math.abs(skew) > MAX_SKEW_MS) {
        throw new Error(
          `this machine's clock is ${Math.round(-skew / 1000)} s off DynamoDB's: the rollups' cut is taken from it. ` +
            'Set the clock right (NTP), or leave it to the deployed upkeep, which runs every 5 minutes.',
        );
      }
    }
    if (values.recompute) {
      const [fromDay, toDay] = positionals;
      if (!fromDay || !toDay || !DAY.test(fromDay) || !DAY.test(toDay) || fromDay > toDay) throw new Error('--recompute takes two days, FROM TO (YYYY-MM-DD, UTC), FROM not after TO');
      const catalog = await readCatalog(client, tables.catalog);
      const campaigns = [...new Set([...config.campaigns.map((c) => c.id), ...(catalog?.campaigns.map((c) => c.id) ?? [])])];
      const keys: MarkKey[] = [];
      for (let h = Date.parse(`${fromDay}T00:00:00Z`); h < Date.parse(`${toDay}T00:00:00Z`) + 24 * HOUR_MS && h < Date.now(); h += HOUR_MS) {
        for (const code of new Set(campaigns.map(campaignCode))) keys.push({ kind: 'clicks', code, hour: h });
        for (const campaign of [...campaigns, UNATTRIBUTED_CLICK_ID]) keys.push({ kind: 'conversions', campaign, hour: h });
      }
      // Nothing is in flight behind these marks: dated back, so this very run acts on them.
      await new DynamoRollupStore(client, tables.rollups, () => Date.now() - MARK_SETTLE_MS).mark(keys);
      process.stderr.write(`rollups: marked ${keys.length} campaign-hour(s) of ${fromDay}..${toDay} for recomputing\n`);
    }
    const stats = newStats();
    let last: UpkeepReport | undefined;
    for (let run = 1; ; run++) {
      last = await runRollupUpkeep({ client, tables, config, budgetMs: RUN_BUDGET_MS, stats });
      if (values.json) process.stdout.write(`${JSON.stringify(last)}\n`);
      else process.stdout.write(`run ${run}: ${describeRun(last)}\n`);
      if (!last.ran) break;
      if (last.caughtUp) break;
    }
    if (!values.json && last?.state) {
      const s = last.state;
      process.stdout.write(
        `Rollups cover the hours from ${new Date(s.since).toISOString()}; closed until ${new Date(s.closedUntil).toISOString()}; ` +
          `conversions taken in up to ${s.cut} (what arrived since is read raw by reports). ` +
          `Read ${stats.items} items in ${stats.queries} queries, ${stats.capacityUnits.toFixed(1)} read units.\n`,
      );
    }
  } finally {
    await tracker.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`rollups: ${(err as Error).message}\n`);
  process.exit(1);
});
