/**
 * Warm latency of the request handlers, in this process, against DynamoDB's API (dynalite, in a
 * child process): every request's total time and the time spent in DynamoDB calls are measured
 * separately, so the handler's own overhead (total - store) is visible. DynamoDB calls are
 * counted per request: the click path must be one write and no read. Measured: the click, the
 * postback, and for landers and direct tracking the lander click (GET /go), the JSON click
 * (`format=json` from t.js) and t.js itself; and the size of the click items they leave (p95),
 * which decides how many write units each click write costs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../config/load';
import { parseConfig, type TrackerConfig } from '../config/schema';
import { BROWSER_UA } from './visitor';
import { CALL_BUDGETS } from '../lambda/adapters/aws-clients';
import { syncConversionTypes } from '../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, DynamoInboundLog, createDynamoClient } from '../lambda/adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../lambda/adapters/file-dead-letter';
import { compileConfig } from '../lambda/core/tracker-config';
import { DynamoIpKeyStore } from '../lambda/adapters/ip-keys';
import { IpKeyRing } from '../lambda/core/sealed-ip';
import { createClickHandler } from '../lambda/handlers/click';
import type { HttpEvent } from '../lambda/handlers/http';
import { createLanderHandler } from '../lambda/handlers/lander';
import { createPostbackHandler } from '../lambda/handlers/postback';
import { createScriptHandler } from '../lambda/handlers/script';
import { logger } from '../lambda/logger';
import { startDynaliteProcess } from './dynalite-process';
import { itemBytes } from './item-size';
import { ensureTables, localTableNames } from '../lambda/local/tables';
import { percentile, round } from './stats';

export interface WarmResult {
  requests: number;
  /** Bytes of log and metric lines written per request (what CloudWatch Logs would ingest from the function). */
  logBytes: number;
  p50Ms: number;
  p99Ms: number;
  ownP50Ms: number;
  ownP99Ms: number;
  storeP50Ms: number;
  dynamoWrites: number;
  dynamoReads: number;
}

const READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand']);
const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand']);

/** A DynamoDB client that times and counts every call of the current request. */
function instrumented(endpoint: string) {
  // The functions' own budget, not the local one: this measures what the functions run.
  const client: DynamoDBClient = createDynamoClient(endpoint, CALL_BUDGETS.dynamodb);
  const current = { storeMs: 0, reads: 0, writes: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      if (READS.has(name)) current.reads++;
      if (WRITES.has(name)) current.writes++;
      const start = process.hrtime.bigint();
      try {
        return await next(args);
      } finally {
        current.storeMs += Number(process.hrtime.bigint() - start) / 1e6;
      }
    },
    { step: 'initialize', name: 'benchTiming' },
  );
  return { client, current };
}

function event(path: string, query: string, pathParameters?: Record<string, string>, n = 0, extraHeaders: Record<string, string> = {}): HttpEvent {
  return {
    version: '2.0',
    routeKey: `GET ${path}`,
    rawPath: path,
    rawQueryString: query,
    headers: { 'user-agent': BROWSER_UA, 'cloudfront-viewer-country': 'DE', 'cloudfront-viewer-address': '203.0.113.9:443', referer: 'https://example.com/', ...extraHeaders },
    ...(pathParameters ? { pathParameters } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'bench', apiId: 'bench', domainName: 'bench', domainPrefix: 'bench',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: BROWSER_UA },
      requestId: `bench-${n}`, routeKey: `GET ${path}`, stage: '$default', time: '', timeEpoch: 0,
    },
  };
}

/** Runs `work` with the handlers' log and metric lines swallowed (they are measured only in `measure`). */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await work();
  } finally {
    process.stdout.write = write;
  }
}

async function measure(count: number, run: (i: number) => Promise<void>, current: { storeMs: number; reads: number; writes: number }): Promise<WarmResult> {
  // Log and metric lines are produced (that work is part of the handler) but not printed: in
  // Lambda stdout is a pipe, not a terminal. Their size feeds the cost model.
  let logBytes = 0;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return true;
  }) as typeof process.stdout.write;
  try {
    return await measureQuietly(count, run, current, () => logBytes, () => (logBytes = 0));
  } finally {
    process.stdout.write = write;
  }
}

async function measureQuietly(
  count: number,
  run: (i: number) => Promise<void>,
  current: { storeMs: number; reads: number; writes: number },
  loggedBytes: () => number,
  resetLogged: () => void,
): Promise<WarmResult> {
  // Warm-up: JIT, connection pool, type cache.
  for (let i = 0; i < Math.min(200, count); i++) await run(-1 - i);
  resetLogged();
  const totals: number[] = [];
  const own: number[] = [];
  const store: number[] = [];
  let reads = 0;
  let writes = 0;
  for (let i = 0; i < count; i++) {
    current.storeMs = 0;
    current.reads = 0;
    current.writes = 0;
    const start = process.hrtime.bigint();
    await run(i);
    const total = Number(process.hrtime.bigint() - start) / 1e6;
    totals.push(total);
    store.push(current.storeMs);
    own.push(Math.max(0, total - current.storeMs));
    reads += current.reads;
    writes += current.writes;
  }
  return {
    requests: count,
    logBytes: Math.round(loggedBytes() / count),
    p50Ms: round(percentile(totals, 50), 3),
    p99Ms: round(percentile(totals, 99), 3),
    ownP50Ms: round(percentile(own, 50), 3),
    ownP99Ms: round(percentile(own, 99), 3),
    storeP50Ms: round(percentile(store, 50), 3),
    dynamoWrites: round(writes / count, 3),
    dynamoReads: round(reads / count, 3),
  };
}

/** p95 and largest billed size (bytes) of a kind of click item. */
export interface ItemSizes {
  items: number;
  p95Bytes: number;
  maxBytes: number;
}

export interface WarmResults {
  click: WarmResult;
  postback: WarmResult;
  /** GET /go on a lander campaign's stored clicks: the first lander click of each. */
  landerClick: WarmResult;
  /** GET /click/{campaign}?format=json as t.js sends it (page, ref, Meta cookies, Origin). */
  jsonClick: WarmResult;
  /** GET /t.js at the origin (CloudFront answers most loads from its cache). */
  script: WarmResult & { responseBytes: number };
  /** The click items the runs left: plain clicks, lander clicks after /go, direct visits. */
  clickItems: { plain: ItemSizes; lander: ItemSizes; direct: ItemSizes };
}

/** The bench lander: the origin t.js runs on, and a campaign that sends its clicks there. */
export const BENCH_LANDER = { id: 'bench-bridge', name: 'Bench bridge page', url: 'https://lp.example.com/bridge?clickid={clickid}&s1={sub1}' };
const BENCH_LANDER_PAGE = 'https://lp.example.com/bridge';
const BENCH_FUNNEL = 'bench-funnel';

/** The shipped config plus a lander campaign (the shipped one has no lander). */
function benchConfig(): TrackerConfig {
  const config = loadConfig();
  const first = config.campaigns[0];
  if (!first) throw new Error('the config has no campaign to measure');
  return parseConfig({
    ...config,
    landers: [...config.landers, BENCH_LANDER],
    campaigns: [...config.campaigns, { ...first, id: BENCH_FUNNEL, name: 'Bench funnel', landers: [{ lander: BENCH_LANDER.id, weight: 1 }] }],
  });
}

/**
 * A click id as Facebook sends it (`fbclid`): today's run 100-200 characters. The length varies
 * with `i`, so the item sizes' p95 sees the long ones.
 */
function fbclid(i: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  let out = 'IwZXh0bgNhZW0CMTAAAR';
  for (let k = 0; out.length < 100 + ((Math.abs(i) * 37) % 101); k++) out += alphabet[(Math.abs(i) * 31 + k * 17) % alphabet.length];
  return out;
}

/** What a Facebook ad puts on the URL: the ad set, ad and placement, the channel's click id, a cost. */
function adQuery(i: number): string {
  return `sub1=adset-${i % 50}&sub2=creative-${i % 7}&sub3=feed&fbclid=${fbclid(i)}&cost=0.05`;
}

function sizes(items: Record<string, AttributeValue>[]): ItemSizes {
  const bytes = items.map(itemBytes);
  return { items: bytes.length, p95Bytes: bytes.length ? Math.ceil(percentile(bytes, 95)) : 0, maxBytes: bytes.length ? Math.max(...bytes) : 0 };
}

async function scanItems(client: DynamoDBClient, table: string): Promise<Record<string, AttributeValue>[]> {
  const out: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    out.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

export async function warmLatency(requests: number): Promise<WarmResults> {
  const dynamo = await startDynaliteProcess();
  const queueDir = mkdtempSync(join(tmpdir(), 'clickvault-bench-dlq-'));
  try {
    const config = benchConfig();
    const compiled = compileConfig(config);
    const tables = localTableNames('bench');
    const setup = createDynamoClient(dynamo.endpoint);
    await ensureTables(setup, tables);
    await syncConversionTypes(setup, tables.conversionTypes, config.conversionTypes);
    const queue = new FileDeadLetterQueue(queueDir);
    const { client, current } = instrumented(dynamo.endpoint);
    const clicks = new DynamoClickStore(client, tables.clicks);
    const campaign = config.campaigns[0]?.id ?? 'demo';

    // A config with a Meta or TikTok conversion API seals the full address of clicks that carry
    // its click id: the day's key is read once by the handler (per instance and day in Lambda).
    const seals = config.trafficChannels.some((c) => c.conversionApi?.platform === 'meta' || c.conversionApi?.platform === 'tiktok');
    const clickHandler = createClickHandler({
      config: compiled,
      clicks,
      deadLetters: () => queue,
      log: logger,
      ...(seals ? { ipKeys: new IpKeyRing(new DynamoIpKeyStore(client, tables.ipKeys)) } : {}),
    });
    const clickIds: string[] = [];
    const click = await measure(
      requests,
      async (i) => {
        const r = await clickHandler(event(`/click/${campaign}`, adQuery(i), { campaignId: campaign }, i));
        if (r.statusCode !== 302) throw new Error(`click answered ${r.statusCode}`);
        if (i >= 0) clickIds.push(new URL(String(r.headers?.location)).searchParams.get('cid') ?? '');
      },
      current,
    );

    const postbackHandler = createPostbackHandler(
      {
        clicks,
        conversions: new DynamoConversionStore(client, tables.conversions),
        types: new DynamoConversionTypes(client, tables.conversionTypes),
        deadLetters: () => queue,
        defaultCurrency: config.defaults.currency,
      },
      { inbound: { log: new DynamoInboundLog(client, tables.inbound), retentionDays: config.defaults.clickRetentionDays } },
    );
    const postback = await measure(
      requests,
      async (i) => {
        const clickId = clickIds[Math.max(0, i) % clickIds.length];
        const r = await postbackHandler(event('/postback', `clickid=${clickId}&type=payment&sum=47.00&currency=EUR&txid=T${i}`, undefined, requests + i));
        if (r.statusCode !== 200) throw new Error(`postback answered ${r.statusCode}: ${r.body}`);
      },
      current,
    );

    // Landers: clicks of the funnel campaign (sent to the lander; priced like any click), then
    // each one's first lander click. The warm-up's /go calls take clicks of their own.
    const landerIds: string[] = [];
    const warmUp = Math.min(200, requests);
    await quietly(async () => {
      for (let i = 0; i < requests + warmUp; i++) {
        const r = await clickHandler(event(`/click/${BENCH_FUNNEL}`, adQuery(i), { campaignId: BENCH_FUNNEL }, i));
        const location = new URL(String(r.headers?.location));
        landerIds.push(location.searchParams.get('clickid') ?? '');
      }
    });
    const landerHandler = createLanderHandler({ config: compiled, clicks, deadLetters: () => queue, log: logger });
    const landerClick = await measure(
      requests,
      async (i) => {
        const clickId = landerIds[i < 0 ? requests - 1 - i : i];
        const r = await landerHandler(event('/go', `clickid=${clickId}`, undefined, 3 * requests + i));
        if (r.statusCode !== 302) throw new Error(`/go answered ${r.statusCode}: ${r.body}`);
      },
      current,
    );

    // Direct tracking: the JSON click t.js makes on the lander (its page, the visitor's own
    // referrer, Meta's cookies, the lander's Origin), and t.js itself.
    const jsonClick = await measure(
      requests,
      async (i) => {
        const query = `${adQuery(i)}&format=json&page=${encodeURIComponent(BENCH_LANDER_PAGE)}&ref=${encodeURIComponent('https://www.facebook.com/')}&_fbp=fb.1.1795600000000.${1000000000 + i}&_fbc=fb.1.1795600000000.${fbclid(i)}`;
        const r = await clickHandler(event(`/click/${BENCH_FUNNEL}`, query, { campaignId: BENCH_FUNNEL }, 4 * requests + i, { origin: 'https://lp.example.com', referer: `${BENCH_LANDER_PAGE}?${adQuery(i)}` }));
        if (r.statusCode !== 200) throw new Error(`JSON click answered ${r.statusCode}: ${r.body}`);
      },
      current,
    );
    const scriptHandler = createScriptHandler();
    let responseBytes = 0;
    const scriptRun = await measure(
      requests,
      async (i) => {
        const r = await scriptHandler(event('/t.js', '', undefined, 5 * requests + i));
        if (r.statusCode !== 200) throw new Error(`t.js answered ${r.statusCode}`);
        responseBytes = Buffer.byteLength(r.body ?? '') + Object.entries(r.headers ?? {}).reduce((n, [k, v]) => n + k.length + String(v).length + 4, 0);
      },
      current,
    );

    const items = await scanItems(setup, tables.clicks);
    const clickItems = {
      plain: sizes(items.filter((it) => it.campaignId?.S === campaign)),
      lander: sizes(items.filter((it) => it.lpClickAt !== undefined)),
      direct: sizes(items.filter((it) => it.page !== undefined)),
    };
    setup.destroy();
    client.destroy();
    return { click, postback, landerClick, jsonClick, script: { ...scriptRun, responseBytes }, clickItems };
  } finally {
    rmSync(queueDir, { recursive: true, force: true });
    await dynamo.close();
  }
}
