/**
 * `npm run cost [-- --json]`: dollars per million clicks and per million postbacks, itemized,
 * from the synthesized template (memory, architecture, API type, billing modes, indexes, log
 * classes), the benchmark's measurements (bench/results.json: handler time, log bytes, DynamoDB
 * calls per request) and the dated price table in bench/prices.ts. Beside it: the same volume
 * on a hosted tracker's published overage price.
 */
import '../scripts/cli-setup';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildClickvault } from '../lib/clickvault-app';
import { ACCESS_LOG_FIELDS } from '../lib/tracker-api';
import { SEND_INDEX } from '../lambda/adapters/table-definitions';
import { HOSTED_OVERAGE, PRICES, PRICES_DATE } from './prices';

/** Stated assumptions (not measured here). */
export const ASSUMPTIONS = {
  dynamoRoundTripMs: 6,
  dynamoRoundTripSource: 'DynamoDB single-item reads/writes in-region: single-digit ms (AWS); 6 ms assumed per call including the SDK',
  itemKb: 1,
  itemNote: 'click, conversion and inbound items stay under 1 KB (bounded fields; typical click ~0.5 KB), so one write unit each',
  redirectResponseBytes: 450,
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

interface Measured {
  ownP50Ms: number;
  logBytesPerRequest: number;
  dynamoWrites: number;
  dynamoReads: number;
}

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

export function costPerMillion(kind: 'click' | 'postback', measured: Measured, facts: ReturnType<typeof templateFacts>): Item[] {
  const M = 1_000_000;
  const fn = kind === 'click' ? facts.click : facts.postback;
  const items: Item[] = [];
  if (facts.cloudFront) {
    const responseBytes = kind === 'click' ? ASSUMPTIONS.redirectResponseBytes : ASSUMPTIONS.postbackResponseBytes;
    items.push({ item: 'CloudFront requests', dollarsPerMillion: PRICES.cloudFrontHttpsRequests.usd * M, basis: '1 HTTPS request' });
    items.push({ item: 'CloudFront data out', dollarsPerMillion: (responseBytes / 1e9) * PRICES.cloudFrontDataOut.usd * M, basis: `${responseBytes} B response` });
    items.push({ item: 'CloudFront to origin', dollarsPerMillion: (ASSUMPTIONS.originRequestBytes / 1e9) * PRICES.cloudFrontToOrigin.usd * M, basis: `${ASSUMPTIONS.originRequestBytes} B request` });
  }
  const api = facts.api === 'HTTP' ? PRICES.httpApiRequests : PRICES.restApiRequests;
  items.push({ item: `API Gateway (${facts.api} API)`, dollarsPerMillion: api.usd * M, basis: '1 request' });
  items.push({ item: 'Lambda requests', dollarsPerMillion: PRICES.lambdaRequests.usd * M, basis: '1 invocation' });
  const calls = measured.dynamoWrites + measured.dynamoReads;
  const billedMs = Math.ceil(measured.ownP50Ms + calls * ASSUMPTIONS.dynamoRoundTripMs);
  const gbSecond = fn.arch === 'arm64' ? PRICES.lambdaArmGbSecond : PRICES.lambdaX86GbSecond;
  items.push({
    item: 'Lambda duration',
    dollarsPerMillion: (fn.memoryMb / 1024) * (billedMs / 1000) * gbSecond.usd * M,
    basis: `${billedMs} ms billed (${measured.ownP50Ms} ms own p50 + ${calls} x ${ASSUMPTIONS.dynamoRoundTripMs} ms DynamoDB) at ${fn.memoryMb} MB ${fn.arch}`,
  });
  let writeUnits: number;
  let readUnits: number;
  if (kind === 'click') {
    writeUnits = measured.dynamoWrites * (1 + facts.tables.clicks.indexes);
    readUnits = measured.dynamoReads;
  } else {
    // A postback writes its conversion (and its index) and its inbound entry (and its index).
    writeUnits = 1 + facts.tables.conversions.indexes + (measured.dynamoWrites >= 2 ? 1 + facts.tables.inbound.indexes : 0);
    readUnits = measured.dynamoReads;
  }
  items.push({ item: 'DynamoDB writes', dollarsPerMillion: writeUnits * PRICES.dynamoWriteUnit.usd * M, basis: `${writeUnits} write units (items + index copies, ${ASSUMPTIONS.itemKb} KB each)` });
  if (readUnits > 0) items.push({ item: 'DynamoDB reads', dollarsPerMillion: readUnits * PRICES.dynamoReadUnit.usd * M, basis: `${readUnits} strongly consistent read unit(s)` });
  const functionLogBytes = measured.logBytesPerRequest + (fn.platformLogs ? ASSUMPTIONS.platformLogBytes : 0) + 26;
  items.push({
    item: 'Function logs',
    dollarsPerMillion: (functionLogBytes / 1e9) * PRICES.logsIngestStandard.usd * M,
    basis: `${functionLogBytes} B/request measured (log + metric lines${fn.platformLogs ? ' + platform lines' : ''}), Standard class`,
  });
  const access = accessLogBytes();
  const accessPrice = facts.accessLogClass === 'INFREQUENT_ACCESS' ? PRICES.logsIngestInfrequent : PRICES.logsIngestStandard;
  items.push({ item: 'API access logs', dollarsPerMillion: (access / 1e9) * accessPrice.usd * M, basis: `${access} B/request, ${facts.accessLogClass === 'INFREQUENT_ACCESS' ? 'Infrequent Access' : 'Standard'} class` });
  return items.map((i) => ({ ...i, dollarsPerMillion: Number(i.dollarsPerMillion.toFixed(4)) }));
}

const total = (items: Item[]) => Number(items.reduce((a, i) => a + i.dollarsPerMillion, 0).toFixed(4));

export const TARGET_PER_MILLION_CLICKS = 3.0;

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
): Promise<{ date: string; handlers: Record<'click' | 'postback', Measured> }> {
  if (existsSync(resultsFile)) return JSON.parse(readFileSync(resultsFile, 'utf8')) as { date: string; handlers: Record<'click' | 'postback', Measured> };
  if (explicit) throw new Error(`--results ${resultsFile}: no such file (run npm run bench, or leave --results out to measure now)`);
  process.stderr.write(`cost: no ${resultsFile} (npm run bench writes it); measuring the click and postback handlers now (${requests} requests each)...\n`);
  const { warmLatency } = await import('./warm');
  const warm = await warmLatency(requests);
  const measured = (w: (typeof warm)['click']): Measured => ({ ownP50Ms: w.ownP50Ms, logBytesPerRequest: w.logBytes, dynamoWrites: w.dynamoWrites, dynamoReads: w.dynamoReads });
  return { date: new Date().toISOString(), handlers: { click: measured(warm.click), postback: measured(warm.postback) } };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, results: { type: 'string' }, check: { type: 'boolean' } } });
  const resultsFile = values.results ?? join(__dirname, 'results.json');
  const results = await measurements(resultsFile, values.results !== undefined);
  const facts = templateFacts();
  const clicks = costPerMillion('click', results.handlers.click, facts);
  const postbacks = costPerMillion('postback', results.handlers.postback, facts);
  const hosted = HOSTED_OVERAGE.usdPerThousandEvents * 1000;
  const out = {
    perMillionClicks: total(clicks),
    perMillionPostbacks: total(postbacks),
    targetPerMillionClicks: TARGET_PER_MILLION_CLICKS,
    hostedTracker: { name: HOSTED_OVERAGE.name, perMillionEvents: hosted, source: HOSTED_OVERAGE.source },
    pricesDate: PRICES_DATE,
    benchmarkDate: results.date,
    assumptions: ASSUMPTIONS,
    items: [...clicks.map((i) => ({ for: 'click', ...i })), ...postbacks.map((i) => ({ for: 'postback', ...i }))],
  };
  // --check (CI): fail when the clicks cost is over target.
  if (values.check && out.perMillionClicks > TARGET_PER_MILLION_CLICKS) process.exitCode = 1;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const section = (title: string, items: Item[]) => [
    title,
    ...items.map((i) => `  ${i.item.padEnd(24)} $${i.dollarsPerMillion.toFixed(4).padStart(7)}   ${i.basis}`),
    `  ${'total'.padEnd(24)} $${total(items).toFixed(4).padStart(7)}`,
  ];
  process.stdout.write(
    [
      `Cost per million, us-east-1 list prices of ${PRICES_DATE} (bench/prices.ts), benchmark of ${results.date}`,
      '',
      ...section('Per million clicks', clicks),
      '',
      ...section('Per million postbacks', postbacks),
      '',
      `Target: at most $${TARGET_PER_MILLION_CLICKS.toFixed(2)} per million clicks -> ${out.perMillionClicks <= TARGET_PER_MILLION_CLICKS ? 'met' : 'NOT met'} ($${out.perMillionClicks.toFixed(2)}).`,
      `${HOSTED_OVERAGE.name} overage for the same million events: $${hosted.toFixed(2)} (${HOSTED_OVERAGE.source}).`,
      'Not per request (monthly, fixed): dashboard $3, alarms ~$0.60, custom metrics ~$0.30 each; storage and free tiers not counted.',
    ].join('\n') + '\n',
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`cost: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
