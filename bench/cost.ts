/**
 * `npm run cost [-- --json]`: dollars per million clicks, postbacks, lander visits (the click
 * that sends the visitor to the lander + the lander click at /go) and direct-tracking visits
 * (t.js + the JSON click), itemized, from the synthesized template (memory, architecture, API
 * type, billing modes, indexes, log classes), the benchmark's measurements (bench/results.json:
 * handler time, log bytes, DynamoDB calls per request, the billed size of the click items) and
 * the dated price table in bench/prices.ts. Beside it: the same volume on a hosted tracker's
 * published overage price.
 */
import '../scripts/cli-setup';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { gzipSync } from 'node:zlib';
import { buildClickvault } from '../lib/clickvault-app';
import { ACCESS_LOG_FIELDS } from '../lib/tracker-api';
import { SEND_INDEX } from '../lambda/adapters/table-definitions';
import { TRACKER_SCRIPT } from '../lambda/static/tracker-script';
import { writeUnits } from './item-size';
import { HOSTED_OVERAGE, PRICES, PRICES_DATE } from './prices';
import { ROLLUP_TARGET_PER_MILLION_CLICKS, type UpkeepCostItem } from './rollup-cost';
import { silenceMonthlyCost } from './silence-cost';
import { loadConfig } from '../config/load';
import { silenceRules } from '../lambda/core/silence';

/** Stated assumptions (not measured here). */
export const ASSUMPTIONS = {
  dynamoRoundTripMs: 6,
  dynamoRoundTripSource: 'DynamoDB single-item reads/writes in-region: single-digit ms (AWS); 6 ms assumed per call including the SDK',
  itemKb: 1,
  itemNote:
    'conversion and inbound items stay under 1 KB (bounded fields), so one write unit each; click items are billed by their measured p95 size (bench/results.json clickItems), 1 KB when not measured',
  redirectResponseBytes: 450,
  jsonClickResponseBytes: 600,
  jsonClickNote: 'the JSON click: {clickid, campaignId, redirectUrl, bot} (~250 B) and its headers, CORS included',
  scriptOriginShare: 0.01,
  scriptOriginNote:
    't.js is cached by CloudFront for 5 minutes per edge location (and by browsers): at most one origin request per edge per 5 minutes; 1 % of loads reaching the origin is a generous bound for any campaign worth tracking',
  postbackResponseBytes: 350,
  originRequestBytes: 700,
  platformLogBytes: 330,
  platformLogNote: 'START/END/REPORT lines per invocation when the system log level lets them through',
};

interface Item {
  item: string;
  dollarsPerMillion: number;
  basis: string;
}

export interface Measured {
  ownP50Ms: number;
  logBytesPerRequest: number;
  dynamoWrites: number;
  dynamoReads: number;
  /** The billed size (p95, bytes) of the click item this request writes; 1 KB when absent. */
  itemBytesP95?: number;
}

/** What `costPerMillion` can price: a request of one function, or t.js as loaded by a lander. */
export type Priced = 'click' | 'postback' | 'landerClick' | 'jsonClick' | 'script';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

export function templateFacts() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const { tracker } = buildClickvault(app, { nag: false });
  const resources = Template.fromStack(tracker).toJSON().Resources as Resources;
  const of = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const fn = (prefix: string) => {
    const found = of('AWS::Lambda::Function').find(([id]) => id.startsWith(prefix));
    if (!found) throw new Error(`no ${prefix} in the template`);
    const p = found[1].Properties as { MemorySize: number; Architectures?: string[]; LoggingConfig?: { SystemLogLevel?: string } };
    return { memoryMb: p.MemorySize, arch: p.Architectures?.[0] ?? 'x86_64', platformLogs: p.LoggingConfig?.SystemLogLevel === undefined || p.LoggingConfig.SystemLogLevel === 'INFO' || p.LoggingConfig.SystemLogLevel === 'DEBUG' };
  };
  const tables = of('AWS::DynamoDB::GlobalTable').length > 0 ? of('AWS::DynamoDB::GlobalTable') : of('AWS::DynamoDB::Table');
  const table = (prefix: string) => {
    const found = tables.find(([id]) => id.startsWith(`Tables${prefix}`) && !id.startsWith(`Tables${prefix}Types`));
    if (!found) throw new Error(`no table ${prefix}`);
    const p = found[1].Properties as { BillingMode?: string; GlobalSecondaryIndexes?: { IndexName?: string }[] };
    // The sparse due index holds only conversions sent to a platform or postback URL (a sale, not
    // every postback): not a copy of every write.
    return { billing: p.BillingMode ?? 'PROVISIONED', indexes: (p.GlobalSecondaryIndexes ?? []).filter((i) => i.IndexName !== SEND_INDEX).length };
  };
  const apis = of('AWS::ApiGatewayV2::Api').map(([, r]) => r.Properties.ProtocolType);
  const restApis = of('AWS::ApiGateway::RestApi').length;
  const accessLogGroup = of('AWS::Logs::LogGroup').find(([id]) => id.includes('AccessLogs'));
  return {
    click: fn('ClickFunction'),
    postback: fn('PostbackFunction'),
    lander: fn('LanderFunction'),
    script: fn('ScriptFunction'),
    tables: { clicks: table('Clicks'), conversions: table('Conversions'), inbound: table('Inbound') },
    api: apis.includes('HTTP') ? 'HTTP' : restApis > 0 ? 'REST' : 'none',
    accessLogClass: (accessLogGroup?.[1].Properties.LogGroupClass as string | undefined) ?? 'STANDARD',
    cloudFront: of('AWS::CloudFront::Distribution').length > 0,
  };
}

function accessLogBytes(): number {
  // The line API Gateway writes: our field names with typical values substituted.
  const sample: Record<string, string> = {};
  for (const key of Object.keys(ACCESS_LOG_FIELDS)) sample[key] = key === 'requestId' ? 'AbCdEfGhIjKlMnO=' : key.includes('Latency') ? '12' : key === 'routeKey' ? 'GET /click/{campaignId}' : key === 'status' ? '302' : key === 'requestTime' ? '1795600000000' : '-';
  return Buffer.byteLength(JSON.stringify(sample)) + 60; // + CloudWatch's per-event overhead (26 B) and timestamps
}

/** Bytes CloudFront sends for one t.js load: the script, compressed as CloudFront does (gzip at least), and its headers. */
export function scriptResponseBytes(): number {
  return gzipSync(TRACKER_SCRIPT).length + 350;
}

export function costPerMillion(kind: Priced, measured: Measured, facts: ReturnType<typeof templateFacts>): Item[] {
  const M = 1_000_000;
  const fn = kind === 'postback' ? facts.postback : kind === 'landerClick' ? facts.lander : kind === 'script' ? facts.script : facts.click;
  // t.js: CloudFront answers from its cache; only a share of loads reaches API, function and logs.
  const share = kind === 'script' ? ASSUMPTIONS.scriptOriginShare : 1;
  const shareNote = share < 1 ? ` x ${share * 100} % of loads (the rest are CloudFront cache hits)` : '';
  const items: Item[] = [];
  if (facts.cloudFront) {
    const responseBytes =
      kind === 'postback'
        ? ASSUMPTIONS.postbackResponseBytes
        : kind === 'jsonClick'
          ? ASSUMPTIONS.jsonClickResponseBytes
          : kind === 'script'
            ? scriptResponseBytes()
            : ASSUMPTIONS.redirectResponseBytes;
    items.push({ item: 'CloudFront requests', dollarsPerMillion: PRICES.cloudFrontHttpsRequests.usd * M, basis: '1 HTTPS request' });
    items.push({ item: 'CloudFront data out', dollarsPerMillion: (responseBytes / 1e9) * PRICES.cloudFrontDataOut.usd * M, basis: `${responseBytes} B response${kind === 'script' ? ' (t.js compressed, with headers)' : ''}` });
    items.push({ item: 'CloudFront to origin', dollarsPerMillion: share * (ASSUMPTIONS.originRequestBytes / 1e9) * PRICES.cloudFrontToOrigin.usd * M, basis: `${ASSUMPTIONS.originRequestBytes} B request${shareNote}` });
  }
  const api = facts.api === 'HTTP' ? PRICES.httpApiRequests : PRICES.restApiRequests;
  items.push({ item: `API Gateway (${facts.api} API)`, dollarsPerMillion: share * api.usd * M, basis: `1 request${shareNote}` });
  items.push({ item: 'Lambda requests', dollarsPerMillion: share * PRICES.lambdaRequests.usd * M, basis: `1 invocation${shareNote}` });
  const calls = measured.dynamoWrites + measured.dynamoReads;
  const billedMs = Math.ceil(measured.ownP50Ms + calls * ASSUMPTIONS.dynamoRoundTripMs);
  const gbSecond = fn.arch === 'arm64' ? PRICES.lambdaArmGbSecond : PRICES.lambdaX86GbSecond;
  items.push({
    item: 'Lambda duration',
    dollarsPerMillion: share * (fn.memoryMb / 1024) * (billedMs / 1000) * gbSecond.usd * M,
    basis: `${billedMs} ms billed (${measured.ownP50Ms} ms own p50 + ${calls} x ${ASSUMPTIONS.dynamoRoundTripMs} ms DynamoDB) at ${fn.memoryMb} MB ${fn.arch}${shareNote}`,
  });
  let units: number;
  let unitsNote: string;
  const readUnits = measured.dynamoReads;
  if (kind === 'postback') {
    // A postback writes its conversion (and its index) and its inbound entry (and its index).
    units = 1 + facts.tables.conversions.indexes + (measured.dynamoWrites >= 2 ? 1 + facts.tables.inbound.indexes : 0);
    unitsNote = `${units} write units (items + index copies, ${ASSUMPTIONS.itemKb} KB each)`;
  } else {
    // A click write (the put, or /go's update: billed by the larger of the item before and
    // after) costs one unit per started KB of the item, on the table and on each index.
    const perWrite = writeUnits(measured.itemBytesP95 ?? ASSUMPTIONS.itemKb * 1024);
    units = measured.dynamoWrites * perWrite * (1 + facts.tables.clicks.indexes);
    unitsNote =
      measured.itemBytesP95 !== undefined
        ? `${units} write unit(s): ${measured.dynamoWrites} write(s) of a ${measured.itemBytesP95} B item (p95) = ${perWrite} unit(s) each`
        : `${units} write unit(s) (items + index copies, ${ASSUMPTIONS.itemKb} KB each)`;
  }
  if (units > 0) items.push({ item: 'DynamoDB writes', dollarsPerMillion: units * PRICES.dynamoWriteUnit.usd * M, basis: unitsNote });
  if (readUnits > 0) items.push({ item: 'DynamoDB reads', dollarsPerMillion: readUnits * PRICES.dynamoReadUnit.usd * M, basis: `${readUnits} strongly consistent read unit(s)` });
  const functionLogBytes = measured.logBytesPerRequest + (fn.platformLogs ? ASSUMPTIONS.platformLogBytes : 0) + 26;
  items.push({
    item: 'Function logs',
    dollarsPerMillion: share * (functionLogBytes / 1e9) * PRICES.logsIngestStandard.usd * M,
    basis: `${functionLogBytes} B/request measured (log + metric lines${fn.platformLogs ? ' + platform lines' : ''}), Standard class${shareNote}`,
  });
  const access = accessLogBytes();
  const accessPrice = facts.accessLogClass === 'INFREQUENT_ACCESS' ? PRICES.logsIngestInfrequent : PRICES.logsIngestStandard;
  items.push({ item: 'API access logs', dollarsPerMillion: share * (access / 1e9) * accessPrice.usd * M, basis: `${access} B/request, ${facts.accessLogClass === 'INFREQUENT_ACCESS' ? 'Infrequent Access' : 'Standard'} class${shareNote}` });
  return items.map((i) => ({ ...i, dollarsPerMillion: Number(i.dollarsPerMillion.toFixed(4)) }));
}

/** Two requests that make one visit, itemized as `<part>: <item>`. */
export function visit(parts: readonly [string, Item[]][]): Item[] {
  return parts.flatMap(([part, items]) => items.map((i) => ({ ...i, item: `${part}: ${i.item}` })));
}

const total = (items: Item[]) => Number(items.reduce((a, i) => a + i.dollarsPerMillion, 0).toFixed(4));

export const TARGET_PER_MILLION_CLICKS = 3.0;

/** What bench/results.json holds that the cost model reads. */
export interface BenchResults {
  date: string;
  handlers: Record<'click' | 'postback', Measured>;
  funnel?: { landerClick: Measured; jsonClick: Measured; script: Measured };
  clickItems?: Record<'plain' | 'lander' | 'direct', { items: number; p95Bytes: number; maxBytes: number }>;
}

/** A click item at or under this size is one write unit; the cost check fails past it. */
export const CLICK_ITEM_BUDGET_BYTES = 1024;

/** Every price `npm run cost` prints, from the benchmark's figures and the template. */
export function costReport(results: BenchResults, facts: ReturnType<typeof templateFacts>) {
  const sized = (m: Measured, kind: 'plain' | 'lander' | 'direct'): Measured => {
    const p95 = results.clickItems?.[kind].p95Bytes;
    return p95 !== undefined && p95 > 0 ? { ...m, itemBytesP95: p95 } : m;
  };
  const clicks = costPerMillion('click', sized(results.handlers.click, 'plain'), facts);
  const postbacks = costPerMillion('postback', results.handlers.postback, facts);
  const funnel = results.funnel;
  // A lander visit: the click that sends the visitor to the lander, then the lander click (every
  // visitor clicking through: the most it can cost). A direct visit: t.js, then the JSON click.
  const landerVisits = funnel
    ? visit([
        ['click', costPerMillion('click', sized(results.handlers.click, 'plain'), facts)],
        ['/go', costPerMillion('landerClick', sized(funnel.landerClick, 'lander'), facts)],
      ])
    : undefined;
  const directVisits = funnel
    ? visit([
        ['t.js', costPerMillion('script', funnel.script, facts)],
        ['JSON click', costPerMillion('jsonClick', sized(funnel.jsonClick, 'direct'), facts)],
      ])
    : undefined;
  const items = results.clickItems;
  const oversized = items ? Object.entries(items).filter(([, it]) => it.p95Bytes > CLICK_ITEM_BUDGET_BYTES).map(([kind]) => kind) : [];
  return { clicks, postbacks, landerVisits, directVisits, clickItems: items, oversized };
}

/** Requests per handler when `cost` measures for itself (as `npm run bench -- --quick` does). */
export const QUICK_WARM_REQUESTS = 1000;

/**
 * The measurements the cost model needs: from the benchmark's results file when there is one
 * (`npm run bench`), else measured now — the warm phase of the benchmark, the only part the
 * cost model reads — so a fresh clone gets its figures without running the whole benchmark.
 */
export async function measurements(
  resultsFile: string,
  explicit: boolean,
  requests = QUICK_WARM_REQUESTS,
): Promise<BenchResults> {
  if (existsSync(resultsFile)) return JSON.parse(readFileSync(resultsFile, 'utf8')) as BenchResults;
  if (explicit) throw new Error(`--results ${resultsFile}: no such file (run npm run bench, or leave --results out to measure now)`);
  process.stderr.write(`cost: no ${resultsFile} (npm run bench writes it); measuring the handlers and click items now (${requests} requests each)...\n`);
  const { warmLatency } = await import('./warm');
  const warm = await warmLatency(requests);
  const measured = (w: (typeof warm)['click']): Measured => ({ ownP50Ms: w.ownP50Ms, logBytesPerRequest: w.logBytes, dynamoWrites: w.dynamoWrites, dynamoReads: w.dynamoReads });
  return {
    date: new Date().toISOString(),
    handlers: { click: measured(warm.click), postback: measured(warm.postback) },
    funnel: { landerClick: measured(warm.landerClick), jsonClick: measured(warm.jsonClick), script: measured(warm.script) },
    clickItems: warm.clickItems,
  };
}

/** The committed record of the last bench:report's upkeep cost basis (bench/rollup-upkeep.json). */
function upkeepRecord(): { date: string; clicks: number; campaigns: number; upkeepCost: UpkeepCostItem[]; recorded: true } | undefined {
  const file = join(__dirname, 'rollup-upkeep.json');
  if (!existsSync(file)) return undefined;
  const record = JSON.parse(readFileSync(file, 'utf8')) as { date: string; clicks: number; campaigns: number; upkeepCost: UpkeepCostItem[] };
  return { ...record, recorded: true };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, results: { type: 'string' }, check: { type: 'boolean' } } });
  const resultsFile = values.results ?? join(__dirname, 'results.json');
  const results: Awaited<ReturnType<typeof measurements>> & {
    /** From `npm run bench:report` (absent until it ran). */
    reportBench?: { date: string; clicks: number; campaigns: number; upkeepCost?: UpkeepCostItem[] };
  } = await measurements(resultsFile, values.results !== undefined);
  const facts = templateFacts();
  const report = costReport(results, facts);
  const hosted = HOSTED_OVERAGE.usdPerThousandEvents * 1000;
  // The upkeep's basis: this results file's bench:report run, else the committed record of the last one.
  const upkeepRun = results.reportBench?.upkeepCost ? { ...results.reportBench, recorded: false } : upkeepRecord();
  const upkeepItems = upkeepRun?.upkeepCost;
  const upkeep = upkeepItems && upkeepRun
    ? {
        date: upkeepRun.date,
        workload: `${upkeepRun.campaigns} campaigns, ${upkeepRun.clicks} clicks in 30 days (npm run bench:report${upkeepRun.recorded ? ', recorded in bench/rollup-upkeep.json' : ''})`,
        items: upkeepItems,
        perMillion: Number(upkeepItems.reduce((a, i) => a + i.perMillionClicks, 0).toFixed(4)),
        monthly: Number(upkeepItems.reduce((a, i) => a + i.monthly, 0).toFixed(4)),
      }
    : undefined;
  // The silent-breakage alarm: fixed per campaign with it on (this config), and a little per click.
  const silenceCampaigns = silenceRules(loadConfig()).length;
  const silence = { campaigns: silenceCampaigns, ...silenceMonthlyCost(silenceCampaigns) };
  const out = {
    perMillionClicks: total(report.clicks),
    perMillionPostbacks: total(report.postbacks),
    perMillionLanderVisits: report.landerVisits ? total(report.landerVisits) : null,
    perMillionDirectVisits: report.directVisits ? total(report.directVisits) : null,
    targetPerMillionClicks: TARGET_PER_MILLION_CLICKS,
    clickItems: report.clickItems ?? null,
    clickItemBudgetBytes: CLICK_ITEM_BUDGET_BYTES,
    hostedTracker: { name: HOSTED_OVERAGE.name, perMillionEvents: hosted, source: HOSTED_OVERAGE.source },
    pricesDate: PRICES_DATE,
    benchmarkDate: results.date,
    assumptions: ASSUMPTIONS,
    items: [
      ...report.clicks.map((i) => ({ for: 'click', ...i })),
      ...report.postbacks.map((i) => ({ for: 'postback', ...i })),
      ...(report.landerVisits ?? []).map((i) => ({ for: 'landerVisit', ...i })),
      ...(report.directVisits ?? []).map((i) => ({ for: 'directVisit', ...i })),
    ],
    rollupUpkeep: upkeep
      ? { perMillionClicks: upkeep.perMillion, monthly: upkeep.monthly, targetPerMillionClicks: ROLLUP_TARGET_PER_MILLION_CLICKS, benchmarkDate: upkeep.date, items: upkeep.items }
      : null,
    silenceAlarm: silence,
  };
  // --check (CI): fail when the clicks cost is over target, or a click item outgrew one write unit.
  if (values.check && (out.perMillionClicks > TARGET_PER_MILLION_CLICKS || report.oversized.length > 0)) process.exitCode = 1;
  // ... or keeping rollups costs more than its target per million clicks.
  if (values.check && (upkeep === undefined || upkeep.perMillion > ROLLUP_TARGET_PER_MILLION_CLICKS)) process.exitCode = 1;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const section = (title: string, items: Item[]) => [
    title,
    ...items.map((i) => `  ${i.item.padEnd(36)} $${i.dollarsPerMillion.toFixed(4).padStart(7)}   ${i.basis}`),
    `  ${'total'.padEnd(36)} $${total(items).toFixed(4).padStart(7)}`,
  ];
  const stale = 'not in this results file: run npm run bench again';
  const itemLines = report.clickItems
    ? Object.entries(report.clickItems).map(
        ([kind, it]) =>
          `  ${kind.padEnd(8)} p95 ${String(it.p95Bytes).padStart(5)} B, max ${String(it.maxBytes).padStart(5)} B (${it.items} items) -> ${writeUnits(it.p95Bytes)} write unit(s)${it.p95Bytes > CLICK_ITEM_BUDGET_BYTES ? '  OVER 1 KB: every such click costs a second write unit' : ''}`,
      )
    : [`  ${stale}`];
  process.stdout.write(
    [
      `Cost per million, us-east-1 list prices of ${PRICES_DATE} (bench/prices.ts), benchmark of ${results.date}`,
      '',
      ...section('Per million clicks', report.clicks),
      '',
      ...section('Per million postbacks', report.postbacks),
      '',
      ...(report.landerVisits ? section('Per million lander visits (click to the lander + lander click at /go)', report.landerVisits) : ['Per million lander visits', `  ${stale}`]),
      '',
      ...(report.directVisits ? section('Per million direct-tracking visits (t.js + JSON click)', report.directVisits) : ['Per million direct-tracking visits', `  ${stale}`]),
      '',
      `Click items (billed size; one write unit per started KB):`,
      ...itemLines,
      '',
      ...(upkeep
        ? [
            `Rollup upkeep (reports from rollups; workload of ${upkeep.date}: ${upkeep.workload})`,
            ...upkeep.items.map((i) => `  ${i.item.padEnd(26)} $${i.perMillionClicks.toFixed(4).padStart(7)}/M clicks  $${i.monthly.toFixed(4).padStart(7)}/month   ${i.basis}`),
            `  ${'total'.padEnd(26)} $${upkeep.perMillion.toFixed(4).padStart(7)}/M clicks  $${upkeep.monthly.toFixed(4).padStart(7)}/month   target: at most $${ROLLUP_TARGET_PER_MILLION_CLICKS.toFixed(2)}/M clicks -> ${upkeep.perMillion <= ROLLUP_TARGET_PER_MILLION_CLICKS ? 'met' : 'NOT met'}`,
            '',
          ]
        : ['Rollup upkeep: run npm run bench:report to measure it.', '']),
      `Silent-breakage alarm (${silence.campaigns} campaign(s) of this config with silenceAlarm on; estimates: bench/silence-cost.ts)`,
      ...silence.items.map((i) => `  ${i.item.padEnd(26)} $${i.monthly.toFixed(4).padStart(7)}/month   ${i.basis}`),
      `  ${'total'.padEnd(26)} $${silence.monthly.toFixed(4).padStart(7)}/month, plus $${silence.perMillionClicks.toFixed(4)}/M clicks of those campaigns (each read raw ~5 times by the check)`,
      '',
      `Target: at most $${TARGET_PER_MILLION_CLICKS.toFixed(2)} per million clicks -> ${out.perMillionClicks <= TARGET_PER_MILLION_CLICKS ? 'met' : 'NOT met'} ($${out.perMillionClicks.toFixed(2)}).`,
      `${HOSTED_OVERAGE.name} overage for the same million events: $${hosted.toFixed(2)} (${HOSTED_OVERAGE.source}).`,
      'Not per request (monthly, fixed): dashboard $3, alarms ~$1.20, custom metrics ~$0.30 each; storage and free tiers not counted.',
    ].join('\n') + '\n',
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`cost: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
