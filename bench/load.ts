/**
 * `npm run bench:load [-- --clicks N --concurrency C]`: starts the local tracker in its own
 * process and drives it over loopback — 10,000 clicks at concurrency 64, then a postback for
 * 10% of them with 5% duplicates and a few unknown types — and checks that nothing was lost or
 * counted twice. Bounded in count and time; stops the tracker when done.
 */
import '../scripts/cli-setup';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CALL_BUDGETS } from '../lambda/adapters/aws-clients';
import { createDynamoClient } from '../lambda/adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../lambda/adapters/file-dead-letter';
import { localTableNames } from '../lambda/local/tables';
import { scanKeys } from './scan';
import { percentile, round } from './stats';

const DEADLINE_MS = 10 * 60_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Timed {
  status: number;
  ms: number;
  location?: string;
  body?: string;
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>, deadline: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        if (Date.now() > deadline) throw new Error('load test deadline passed');
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
}

async function request(url: string): Promise<Timed> {
  const start = process.hrtime.bigint();
  const response = await fetch(url, { redirect: 'manual' });
  const body = await response.text();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { status: response.status, ms, body, ...(response.headers.get('location') ? { location: response.headers.get('location') ?? '' } : {}) };
}

function summary(samples: Timed[], seconds: number) {
  const ms = samples.map((s) => s.ms);
  return { requests: samples.length, perSecond: round(samples.length / seconds, 0), p50Ms: round(percentile(ms, 50), 2), p99Ms: round(percentile(ms, 99), 2), maxMs: round(Math.max(...ms), 2) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clicks: { type: 'string' }, concurrency: { type: 'string' } } });
  const clickCount = Number(values.clicks ?? 10_000);
  const concurrency = Number(values.concurrency ?? 64);
  if (!Number.isInteger(clickCount) || clickCount < 100 || clickCount > 100_000) throw new Error('--clicks must be 100..100000');
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 512) throw new Error('--concurrency must be 1..512');
  const deadline = Date.now() + DEADLINE_MS;

  const dataDir = mkdtempSync(join(tmpdir(), 'clickvault-load-'));
  const [port, dynamoPort] = [await freePort(), await freePort()];
  const tracker = spawn(process.execPath, [join(__dirname, '../node_modules/tsx/dist/cli.mjs'), join(__dirname, '../scripts/start.ts')], {
    env: {
      ...process.env,
      PORT: String(port),
      DYNAMODB_PORT: String(dynamoPort),
      TRACKER_DATA_DIR: dataDir,
      POWERTOOLS_LOG_LEVEL: 'WARN',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stop = () => {
    if (tracker.exitCode === null) tracker.kill('SIGTERM');
  };
  process.on('exit', stop);
  try {
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`the tracker did not start:\n${err}`)), 60_000);
      tracker.stderr?.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        if (err.includes('Clickvault is running at')) {
          clearTimeout(timer);
          resolve();
        }
      });
      tracker.once('exit', (code) => reject(new Error(`the tracker exited with ${code}:\n${err}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    process.stderr.write(`load: tracker up at ${base}; ${clickCount} clicks at concurrency ${concurrency}...\n`);

    // Clicks.
    const clicks: Timed[] = [];
    const clickStart = Date.now();
    await pool(
      Array.from({ length: clickCount }, (_, i) => i),
      concurrency,
      async (i) => {
        clicks.push(await request(`${base}/click/demo?sub1=adset-${i % 40}&sub2=ad-${i % 9}&fbclid=FB.${i}&cost=0.04`));
      },
      deadline,
    );
    const clickSeconds = (Date.now() - clickStart) / 1000;
    const answered = clicks.filter((c) => c.status === 302).map((c) => new URL(c.location ?? '').searchParams.get('cid') ?? '');

    // Postbacks: 10% of the clicks; 5% of those sent twice; a few with unknown types.
    const unique = answered.filter((_, i) => i % 10 === 0).map((cid, i) => ({ cid, txid: `L${i}`, type: 'payment' }));
    const duplicates = unique.filter((_, i) => i % 20 === 0);
    const unknown = unique.slice(0, 5).map((u, i) => ({ cid: u.cid, txid: `U${i}`, type: 'LoadTestUnknownType' }));
    const sends = [...unique, ...duplicates, ...unknown].sort(() => Math.random() - 0.5);
    process.stderr.write(`load: ${sends.length} postbacks (${unique.length} unique, ${duplicates.length} duplicates, ${unknown.length} unknown types)...\n`);
    const postbacks: (Timed & { txid: string; type: string })[] = [];
    const postbackStart = Date.now();
    await pool(
      sends,
      concurrency,
      async (p) => {
        postbacks.push({ ...(await request(`${base}/postback?clickid=${p.cid}&type=${p.type}&sum=47.00&currency=EUR&txid=${p.txid}`)), txid: p.txid, type: p.type });
      },
      deadline,
    );
    const postbackSeconds = (Date.now() - postbackStart) / 1000;

    // Checks against the store itself.
    const client = createDynamoClient(`http://127.0.0.1:${dynamoPort}`, CALL_BUDGETS.tool);
    const tables = localTableNames();
    const storedClicks = await scanKeys(client, tables.clicks, ['clickId']);
    const storedConversions = await scanKeys(client, tables.conversions, ['clickId', 'conversionKey']);
    client.destroy();
    const queued = await new FileDeadLetterQueue(dataDir).list();

    const clickIds = new Set(storedClicks.map((c) => c.clickId));
    const conversionKeys = storedConversions.map((c) => `${c.clickId}|${c.conversionKey}`);
    const expectedKeys = new Set(unique.map((u) => `${u.cid}|payment|${u.txid}`));
    const checks = {
      everyClickAnswered: answered.length === clickCount,
      everyAnsweredClickStoredOnce: storedClicks.length === answered.length && answered.every((id) => clickIds.has(id)) && clickIds.size === storedClicks.length,
      everyUniquePostbackOneConversion: conversionKeys.length === expectedKeys.size && conversionKeys.every((k) => expectedKeys.has(k)) && new Set(conversionKeys).size === conversionKeys.length,
      duplicatesMadeNone: postbacks.filter((p) => p.body?.startsWith('OK duplicate')).length === duplicates.length,
      unknownTypesQueued: queued.filter((m) => m.reason === 'unknown_type').length === unknown.length && postbacks.filter((p) => p.type === 'LoadTestUnknownType').every((p) => p.status === 202),
      noErrors: [...clicks, ...postbacks].every((r) => r.status < 500),
    };
    const results = {
      date: new Date().toISOString(),
      node: process.version,
      concurrency,
      clicks: summary(clicks, clickSeconds),
      postbacks: summary(postbacks, postbackSeconds),
      stored: { clicks: storedClicks.length, conversions: storedConversions.length, queued: queued.length },
      checks,
    };
    writeFileSync(join(__dirname, 'load-results.json'), `${JSON.stringify(results, null, 2)}\n`);
    const line = (name: string, s: ReturnType<typeof summary>) =>
      `${name.padEnd(10)} ${String(s.requests).padStart(6)} req  ${String(s.perSecond).padStart(6)}/s  p50 ${s.p50Ms.toFixed(2).padStart(7)} ms  p99 ${s.p99Ms.toFixed(2).padStart(7)} ms  max ${s.maxMs.toFixed(2).padStart(8)} ms`;
    process.stdout.write(`${line('clicks', results.clicks)}\n${line('postbacks', results.postbacks)}\n`);
    for (const [name, ok] of Object.entries(checks)) process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}\n`);
    if (!Object.values(checks).every(Boolean)) process.exitCode = 1;
  } finally {
    stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:load: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
