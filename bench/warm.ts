/**
 * Warm latency of the click and postback handlers, in this process, against DynamoDB's API
 * (dynalite, in a child process): every request's total time and the time spent in DynamoDB calls are
 * measured separately, so the handler's own overhead (total - store) is visible. DynamoDB calls
 * are counted per request: the click path must be one write and no read.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../config/load';
import { BROWSER_UA } from './visitor';
import { syncConversionTypes } from '../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, DynamoInboundLog, createDynamoClient } from '../lambda/adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../lambda/adapters/file-dead-letter';
import { compileConfig } from '../lambda/core/tracker-config';
import { createClickHandler } from '../lambda/handlers/click';
import type { HttpEvent } from '../lambda/handlers/http';
import { createPostbackHandler } from '../lambda/handlers/postback';
import { logger } from '../lambda/logger';
import { startDynaliteProcess } from './dynalite-process';
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
  const client: DynamoDBClient = createDynamoClient(endpoint);
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

function event(path: string, query: string, pathParameters?: Record<string, string>, n = 0): HttpEvent {
  return {
    version: '2.0',
    routeKey: `GET ${path}`,
    rawPath: path,
    rawQueryString: query,
    headers: { 'user-agent': BROWSER_UA, 'cloudfront-viewer-country': 'DE', 'cloudfront-viewer-address': '203.0.113.9:443', referer: 'https://example.com/' },
    ...(pathParameters ? { pathParameters } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'bench', apiId: 'bench', domainName: 'bench', domainPrefix: 'bench',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: BROWSER_UA },
      requestId: `bench-${n}`, routeKey: `GET ${path}`, stage: '$default', time: '', timeEpoch: 0,
    },
  };
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

export async function warmLatency(requests: number): Promise<{ click: WarmResult; postback: WarmResult }> {
  const dynamo = await startDynaliteProcess();
  try {
    const config = loadConfig();
    const tables = localTableNames('bench');
    const setup = createDynamoClient(dynamo.endpoint);
    await ensureTables(setup, tables);
    await syncConversionTypes(setup, tables.conversionTypes, config.conversionTypes);
    const queue = new FileDeadLetterQueue(mkdtempSync(join(tmpdir(), 'clickvault-bench-dlq-')));
    const { client, current } = instrumented(dynamo.endpoint);
    const clicks = new DynamoClickStore(client, tables.clicks);
    const campaign = config.campaigns[0]?.id ?? 'demo';

    const clickHandler = createClickHandler({ config: compileConfig(config), clicks, deadLetters: () => queue, log: logger });
    const clickIds: string[] = [];
    const click = await measure(
      requests,
      async (i) => {
        const r = await clickHandler(event(`/click/${campaign}`, `sub1=adset-${i % 50}&sub2=creative-${i % 7}&fbclid=FB.${i}&cost=0.05`, { campaignId: campaign }, i));
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
    setup.destroy();
    client.destroy();
    return { click, postback };
  } finally {
    await dynamo.close();
  }
}
