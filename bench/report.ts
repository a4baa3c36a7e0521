/**
 * `npm run bench:report [-- --clicks N] [--keep DIR] [--only GROUPING ...] [--results FILE]`: reports on both paths over a month of
 * synthetic traffic on the embedded store (dynalite, on disk like `npm start`, in its own
 * process so its CPU is not the reader's).
 *
 * 1. Loads N clicks over the last 30 days (10 campaigns, half of them with landers and lander
 *    clicks, 3 % bots, 20 ad sets x 10 ads x 5 placements per campaign: 200 distinct sub2 values a
 *    day, 30 countries), ~0.1 conversions per click (checkout pixel, payment and initial sale;
 *    refunds and chargebacks up to 20 days later, test orders, organic sales), written as items
 *    straight into the tables in batches, not through HTTP.
 * 2. Brings rollups up to date with the upkeep (the same code as the schedule), timed.
 * 3. Runs the same 30-day reports on the raw path and on rollups: every grouping the issue names
 *    (campaign, offer, lander, channel, country, alone, by day and by hour; the drill-down
 *    campaign > sub1 > sub2 > sub3, alone and by day), and checks the rows are equal.
 * 4. Merges `reports` (and `reportBench`: sizes, upkeep cost inputs) into bench/results.json.
 */
import '../scripts/cli-setup';
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { syncCatalog } from '../lambda/adapters/catalog';
import { syncConversionTypes } from '../lambda/adapters/conversion-types-sync';
import { CALL_BUDGETS } from '../lambda/adapters/aws-clients';
import { clickToItem, conversionToItem, createDynamoClient } from '../lambda/adapters/dynamodb-store';
import { reportPorts } from '../lambda/adapters/report-ports';
import { newStats } from '../lambda/adapters/report-source';
import { runRollupUpkeep } from '../lambda/adapters/rollup-runner';
import { clickCoverage, nextDay, startOfDay, zonedParts, type GroupKey, type ReportFilter } from '../lambda/core/report';
import { runReport, type ReportResult, type SourceChoice } from '../lambda/core/report-run';
import { SWEEP_EVERY_MS, rollupEras } from '../lambda/core/rollup-upkeep';
import { ensureTables, localTableNames } from '../lambda/local/tables';
import { CAMPAIGNS, DAY_MS, benchConfig, generate, writeAll, type Generated } from './month-data';
import { rollupUpkeepCost } from './rollup-cost';
import { round } from './stats';

const RESULTS = join(__dirname, 'results.json');
/** The committed record of the upkeep's cost basis (npm run cost reads it when results.json has none). */
export const UPKEEP_RECORD = join(__dirname, 'rollup-upkeep.json');
async function startStore(dir: string): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = `
const server = require('dynalite')({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, path: ${JSON.stringify(dir)} });
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
process.on('disconnect', () => process.exit(0));
`;
  const child: ChildProcess = spawn(process.execPath, ['-e', server], { cwd: join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dynalite exited with ${code}`)));
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  return { endpoint: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill())) };
}

const GROUPINGS: { name: string; by: GroupKey[]; filter?: ReportFilter }[] = [
  ...(['campaign', 'offer', 'lander', 'channel', 'country'] as const).flatMap((k) => [
    { name: k, by: [k] as GroupKey[] },
    { name: `${k},day`, by: [k, 'day'] as GroupKey[] },
    { name: `${k},hour`, by: [k, 'hour'] as GroupKey[] },
  ]),
  { name: 'sub1 (campaign=camp-01)', by: ['sub1'], filter: { campaign: 'camp-01' } },
  { name: 'sub1,day (campaign=camp-01)', by: ['sub1', 'day'], filter: { campaign: 'camp-01' } },
  { name: 'sub2 (campaign=camp-01,sub1=adset-1)', by: ['sub2'], filter: { campaign: 'camp-01', sub1: 'adset-1' } },
  { name: 'sub2,day (campaign=camp-01,sub1=adset-1)', by: ['sub2', 'day'], filter: { campaign: 'camp-01', sub1: 'adset-1' } },
  { name: 'sub3 (campaign=camp-01,sub1=adset-1,sub2=ad-1-1)', by: ['sub3'], filter: { campaign: 'camp-01', sub1: 'adset-1', sub2: 'ad-1-1' } },
  { name: 'sub3,day (campaign=camp-01,sub1=adset-1,sub2=ad-1-1)', by: ['sub3', 'day'], filter: { campaign: 'camp-01', sub1: 'adset-1', sub2: 'ad-1-1' } },
];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clicks: { type: 'string' }, keep: { type: 'string' }, only: { type: 'string', multiple: true }, results: { type: 'string' } } });
  const resultsFile = values.results ?? RESULTS;
  const n = Number(values.clicks ?? 20_000);
  if (!Number.isInteger(n) || n < 1000) throw new Error('--clicks: a whole number of at least 1000');
  const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'clickvault-bench-report-'));
  const say = (m: string) => process.stderr.write(`bench:report: ${m}\n`);
  const config = benchConfig();
  const now = Date.now();
  const toDay = zonedParts(now, 'UTC').day;
  const fromDate = new Date(`${toDay}T00:00:00Z`);
  fromDate.setUTCDate(fromDate.getUTCDate() - 29);
  const fromDay = fromDate.toISOString().slice(0, 10);
  const from = startOfDay(fromDay, 'UTC');
  const to = startOfDay(nextDay(toDay), 'UTC');

  const store = await startStore(join(dir, 'dynamodb'));
  // The raw path reads 64 partitions at once (tuned for DynamoDB); the embedded store answers them
  // one after another, so at a million clicks a 1 MB page can wait longer than a CLI's 15 s.
  const client = createDynamoClient(store.endpoint, { ...CALL_BUDGETS.tool, attemptTimeoutMs: 300_000, callTimeoutMs: 1_200_000 });
  try {
    const tables = localTableNames('bench');
    await ensureTables(client, tables);
    await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
    await syncCatalog(client, tables.catalog, { campaigns: config.campaigns, clickRetentionDays: 90, rollupRetentionDays: 1095 }, new Date(from.getTime() - DAY_MS));

    // 1. Load.
    const generated: Generated = { clicks: 0, bots: 0, lpClicks: 0, conversions: 0, arrivals: [] };
    const conversions: Record<string, AttributeValue>[] = [];
    const loadStart = Date.now();
    const clickItems = function* () {
      for (const g of generate(config, n, from.getTime(), now - 60_000, 7, generated)) {
        if (g.click) yield clickToItem(g.click);
        if (g.conversion) conversions.push(conversionToItem(g.conversion, randomUUID()));
      }
    };
    const clickCount = await writeAll(client, tables.clicks, clickItems());
    say(`loaded ${clickCount} clicks (${generated.bots} bots, ${generated.lpClicks} lander clicks) in ${((Date.now() - loadStart) / 1000).toFixed(0)} s`);
    await writeAll(client, tables.conversions, conversions);
    const loadSeconds = (Date.now() - loadStart) / 1000;
    say(`loaded ${conversions.length} conversions; ${loadSeconds.toFixed(0)} s in all`);

    // 2. Rollups up to date.
    const upkeepStats = newStats();
    const upkeepStart = Date.now();
    let runs = 0;
    for (;;) {
      runs++;
      const report = await runRollupUpkeep({ client, tables, config, stats: upkeepStats });
      if (report.caughtUp) break;
      if (runs > 50) throw new Error('the upkeep did not catch up');
    }
    const upkeepSeconds = (Date.now() - upkeepStart) / 1000;
    say(`rollups up to date in ${upkeepSeconds.toFixed(0)} s (${upkeepStats.queries} queries, ${upkeepStats.capacityUnits.toFixed(0)} read units)`);

    // What was stored: item sizes per kind (the write units of keeping them, the read units of reports).
    const sizes: Record<'clickMain' | 'clickSubs' | 'conversions', number[]> = { clickMain: [], clickSubs: [], conversions: [] };
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await client.send(new ScanCommand({ TableName: tables.rollups, ExclusiveStartKey: start }));
      for (const item of out.Items ?? []) {
        const pk = item.pk?.S ?? '';
        const kind = pk.endsWith('#m') ? 'clickMain' : pk.endsWith('#s') ? 'clickSubs' : pk.endsWith('#v') ? 'conversions' : undefined;
        if (!kind) continue;
        // DynamoDB's item size: attribute names and values (numbers ~ digits / 2 + 1).
        const columns = Object.entries(item).filter(([name]) => name.startsWith('x_'));
        const bytes = pk.length + (item.sk?.S ?? '').length + columns.reduce((n, [name, v]) => n + name.length + (v.B?.length ?? 0), 0) + 'pk'.length + 'sk'.length + 'expiresAt'.length + 7;
        sizes[kind].push(bytes);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    const sizeOf = (list: number[]) => ({
      items: list.length,
      avgBytes: Math.round(list.reduce((a, b) => a + b, 0) / Math.max(1, list.length)),
      p95Bytes: [...list].sort((a, b) => a - b)[Math.floor(list.length * 0.95)] ?? 0,
      maxBytes: Math.max(0, ...list),
      writeUnits: list.reduce((a, b) => a + Math.ceil(b / 1024), 0),
    });
    const rollupItems = { clickMain: sizeOf(sizes.clickMain), clickSubs: sizeOf(sizes.clickSubs), conversions: sizeOf(sizes.conversions) };

    // Steady state: the parts an hourly sweep recomputes (distinct campaign-hours of the
    // conversions that arrived in each sweep's span), from the generated arrival times.
    const touched = new Set<string>();
    const touchedDays = new Set<string>();
    for (const a of generated.arrivals) {
      touched.add(`${Math.floor(a.at / SWEEP_EVERY_MS)}|${a.campaign}|${a.hour}`);
      touchedDays.add(`${Math.floor(a.at / SWEEP_EVERY_MS)}|${a.campaign}|${Math.floor(a.hour / DAY_MS)}`);
    }
    const upkeepCost = rollupUpkeepCost({
      clicks: generated.clicks,
      campaigns: CAMPAIGNS,
      days: 30,
      conversions: generated.conversions,
      dayItems: {
        clickMain: { items: sizes.clickMain.length, bytes: sizes.clickMain },
        clickSubs: { items: sizes.clickSubs.length, bytes: sizes.clickSubs },
        conversions: { items: sizes.conversions.length, bytes: sizes.conversions },
      },
      sweepDays: touchedDays.size,
      sweepHours: touched.size,
    });

    // 3. Reports, both paths.
    const reports: Record<string, { rawReadUnits: number; rollupReadUnits: number; rawMs: number; rollupMs: number; rawItems: number; rollupItems: number; rawQueries: number; rollupQueries: number; source: string; equal: boolean; closedRollupMs: number; closedRollupReadUnits: number; closedRollupQueries: number; closedSource: string }> = {};
    // The 30 days ending yesterday: closed hours only, every one from rollups (no raw read of
    // the open hour, which costs one query per click partition of each campaign).
    const closedTo = startOfDay(toDay, 'UTC');
    const closedFromDate = new Date(closedTo.getTime() - 30 * DAY_MS);
    const closed = { fromDay: closedFromDate.toISOString().slice(0, 10), toDay: new Date(closedTo.getTime() - DAY_MS).toISOString().slice(0, 10), from: closedFromDate, to: closedTo };
    const run = async (g: (typeof GROUPINGS)[number], source: SourceChoice, range = { fromDay, toDay, from, to }): Promise<ReportResult> =>
      runReport(
        {
          by: g.by,
          timeZone: 'UTC',
          ...range,
          campaigns: config.campaigns.map((c) => c.id),
          includeUnattributed: true,
          includeTests: false,
          ...(g.filter ? { filter: g.filter } : {}),
          source,
          costCurrency: 'EUR',
          clickCoverage: clickCoverage([], 90, new Date()),
          rollupRetention: rollupEras([], 1095),
          now: new Date(),
        },
        reportPorts(client, tables, newStats()),
      );
    const only = values.only;
    const unknown = (only ?? []).filter((name) => !GROUPINGS.some((g) => g.name === name));
    if (unknown.length > 0) throw new Error(`--only: no grouping ${unknown.map((n) => `"${n}"`).join(', ')}; one of ${GROUPINGS.map((g) => `"${g.name}"`).join(', ')}`);
    for (const g of GROUPINGS.filter((x) => only === undefined || only.includes(x.name))) {
      const rollup = await run(g, 'auto');
      const raw = await run(g, 'raw');
      const closedRun = await run(g, 'auto', closed);
      const equal = JSON.stringify(raw.rows) === JSON.stringify(rollup.rows);
      reports[g.name] = {
        rawReadUnits: raw.stats.readUnits,
        rollupReadUnits: rollup.stats.readUnits,
        rawMs: raw.stats.ms,
        rollupMs: rollup.stats.ms,
        rawItems: raw.stats.items,
        rollupItems: rollup.stats.items,
        rawQueries: raw.stats.queries,
        rollupQueries: rollup.stats.queries,
        source: rollup.stats.source,
        equal,
        closedRollupMs: closedRun.stats.ms,
        closedRollupReadUnits: closedRun.stats.readUnits,
        closedRollupQueries: closedRun.stats.queries,
        closedSource: closedRun.stats.source,
      };
      say(`${g.name.padEnd(52)} raw ${String(raw.stats.readUnits).padStart(9)} RU ${String(raw.stats.ms).padStart(7)} ms | rollups ${String(rollup.stats.readUnits).padStart(7)} RU ${String(rollup.stats.queries).padStart(5)} q ${String(rollup.stats.ms).padStart(6)} ms ${rollup.stats.source}${equal ? '' : '  NOT EQUAL'} | to yesterday ${closedRun.stats.readUnits} RU ${closedRun.stats.queries} q ${closedRun.stats.ms} ms ${closedRun.stats.source}`);
    }

    // 4. Results, merged into what `npm run bench` wrote.
    const previous = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown>) : {};
    const results = {
      ...previous,
      reports,
      reportBench: {
        date: new Date().toISOString(),
        clicks: generated.clicks,
        bots: generated.bots,
        lpClicks: generated.lpClicks,
        conversions: generated.conversions,
        campaigns: CAMPAIGNS,
        days: 30,
        loadSeconds: round(loadSeconds, 1),
        upkeep: { seconds: round(upkeepSeconds, 1), runs, queries: upkeepStats.queries, readUnits: round(upkeepStats.capacityUnits, 1) },
        rollupItems,
        campaignDays: rollupItems.clickMain.items,
        sweepEveryMs: SWEEP_EVERY_MS,
        partsPerHourlySweepMonth: touched.size,
        dayItemsPerHourlySweepMonth: touchedDays.size,
        upkeepCost,
        store: 'dynalite on disk (LevelDB), in its own process',
      },
    };
    writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
    // The upkeep's cost basis, committed: npm run cost itemizes it on a fresh clone (CI) too.
    if (values.results === undefined) {
      const record = { note: 'Written by npm run bench:report (default results file); read by npm run cost when bench/results.json has no reportBench (a fresh clone, CI).', date: results.reportBench.date, clicks: generated.clicks, campaigns: CAMPAIGNS, upkeepCost };
      writeFileSync(UPKEEP_RECORD, `${JSON.stringify(record, null, 2)}\n`);
    }
    const bad = Object.entries(reports).filter(([, r]) => !r.equal);
    say(`wrote ${resultsFile}${bad.length ? `; NOT EQUAL: ${bad.map(([k]) => k).join(', ')}` : '; every report equal on both paths'}`);
    if (bad.length) process.exitCode = 1;
  } finally {
    client.destroy();
    await store.close();
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:report: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
