/**
 * `npm run bench:load [-- --clicks N --concurrency C --down-ms D --hang-ms H]`: the local tracker
 * in its own process, driven over loopback, and checked for money, not only for keys.
 *
 * 1. steady: N clicks at concurrency C over two campaigns, then postbacks for a tenth of them —
 *    payments of varied amounts in EUR and USD, chargebacks, duplicates, organic sales, unknown
 *    types — as Digistore24 sends them, with the postback key.
 * 2. fault: clicks and postbacks keep coming (refunds without currency among them) while the
 *    tracker's DynamoDB is stopped (every connection reset) and then hung (connections taken,
 *    never answered), through a proxy between the handlers and their store.
 * 3. after: refunds of sales made during the fault, then `npm run redrive -- --local` twice, as an
 *    operator would.
 * 4. checks: every click answered and stored exactly once; every sale stored exactly once; every
 *    cent accounted for per currency (stored revenue against what was sent, as exact decimals);
 *    `npm run report -- --local --json` equal to a report built from what was sent; only the
 *    unknown types left in the queue; a second redrive changes nothing; and the fault really
 *    happened (connections reset and swallowed, clicks and postbacks queued) so the checks
 *    cannot pass vacuously.
 *
 * The tracker runs a config this file writes (TRACKER_CONFIG), with a postback key it passes as
 * an environment secret (BENCH_PB_KEY): the shipped config's campaigns and protection settings
 * do not matter. Bounded in count and time; stops the tracker when done.
 */
import '../scripts/cli-setup';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { digistore24ConversionTypes } from '../config/digistore24';
import { parseConfig } from '../config/schema';
import { CALL_BUDGETS } from '../lambda/adapters/aws-clients';
import { createDynamoClient } from '../lambda/adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../lambda/adapters/file-dead-letter';
import { decimalOf, wrapStoredNumber } from '../lambda/adapters/stored-number';
import { formatMicros, toMicros } from '../lambda/core/decimal';
import { ReportBuilder, formatJson } from '../lambda/core/report';
import { localTableNames } from '../lambda/local/tables';
import { startFaultProxy, type FaultMode, type FaultProxy } from './fault-proxy';
import { percentile, round } from './stats';
import { BROWSER_UA } from './visitor';

// The SDK's Node.js version notice is not a load-test result.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const DEADLINE_MS = 5 * 60_000;
const REQUEST_TIMEOUT_MS = 30_000;
const CAMPAIGNS = ['load-a', 'load-b'] as const;
const KEY = randomBytes(24).toString('hex');
const UNKNOWN_TYPE = 'LoadTestUnknownType';

/** The tracker's config for this run: explicit, so the shipped config cannot change the test. */
function benchConfig() {
  return parseConfig({
    defaults: { currency: 'EUR', clickRetentionDays: 90, ipStorage: 'truncated' },
    trafficChannels: [
      { id: 'facebook', name: 'Facebook', clickIdParam: 'fbclid' },
      { id: 'google', name: 'Google', clickIdParam: 'gclid' },
    ],
    offers: [{ id: 'ds24-load', name: 'Load test offer', source: 'digistore24', url: 'https://www.digistore24.com/redir/123456/load/?cid={clickid}' }],
    campaigns: [
      // cost=0.04 on every click URL: taken only because the campaigns opt in (issue 10).
      { id: 'load-a', name: 'Load A', trafficChannel: 'facebook', offers: [{ offer: 'ds24-load' }], cost: { fromUrl: true, max: '1.00' } },
      { id: 'load-b', name: 'Load B', trafficChannel: 'google', offers: [{ offer: 'ds24-load' }], cost: { fromUrl: true, max: '1.00' } },
    ],
    conversionTypes: [...digistore24ConversionTypes],
    postbackProtection: { required: true, sources: [{ id: 'load-test', keys: [{ env: 'BENCH_PB_KEY' }] }] },
  }, 'bench/load.ts');
}

type Phase = 'steady' | 'fault' | 'after';
type SaleType = 'payment' | 'refund' | 'chargeback';

interface Answer {
  status: number;
  ms: number;
  body: string;
  location?: string;
}

interface SentClick extends Answer {
  cid: string;
  campaign: string;
  phase: Phase;
  at: string;
}

interface Sale {
  /** Undefined for an organic sale. */
  cid?: string;
  campaign: string | null;
  type: SaleType | typeof UNKNOWN_TYPE;
  txid: string;
  /** Positive canonical decimal. */
  amount: string;
  /** The currency it must be stored in. */
  currency: string;
  /** Whether the postback names it (a refund may leave it to its payment). */
  sendCurrency: boolean;
}

interface SentPostback extends Answer {
  sale: Sale;
  phase: Phase;
  duplicate: boolean;
}

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function request(url: string): Promise<Answer> {
  const start = process.hrtime.bigint();
  try {
    const response = await fetch(url, { redirect: 'manual', headers: { 'user-agent': BROWSER_UA }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = await response.text();
    const location = response.headers.get('location');
    return { status: response.status, ms: Number(process.hrtime.bigint() - start) / 1e6, body, ...(location ? { location } : {}) };
  } catch (err) {
    // No answer at all: a visitor without a redirect, a sender that must retry.
    return { status: 0, ms: Number(process.hrtime.bigint() - start) / 1e6, body: (err as Error).message };
  }
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

function summary(samples: Answer[], seconds: number) {
  const ms = samples.map((s) => s.ms);
  return { requests: samples.length, perSecond: round(samples.length / seconds, 0), p50Ms: round(percentile(ms, 50), 2), p99Ms: round(percentile(ms, 99), 2), maxMs: round(Math.max(...ms), 2) };
}

/** A varied amount in cents, as canonical decimal text (1.00 .. 999.99). */
function amountFor(i: number): string {
  const cents = 100 + ((i * 7919) % 99_900);
  const text = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
  return text.replace(/\.?0+$/, '');
}

const saleKey = (s: Pick<Sale, 'cid' | 'type' | 'txid'>) => `${s.cid ?? '~unattributed'}|${s.type}|${s.txid}`;
const signed = (s: Sale) => (s.type === 'payment' || s.type === UNKNOWN_TYPE ? s.amount : `-${s.amount}`);

async function scanAll(client: ReturnType<typeof createDynamoClient>, table: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
    out.push(...(page.Items ?? []).map((i) => unmarshall(i, { wrapNumbers: wrapStoredNumber })));
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

function moneyByCurrency(entries: { currency: string; micros: bigint }[]): Record<string, string> {
  const sums = new Map<string, bigint>();
  for (const e of entries) sums.set(e.currency, (sums.get(e.currency) ?? 0n) + e.micros);
  return Object.fromEntries([...sums].sort(([a], [b]) => a.localeCompare(b)).map(([c, m]) => [c, formatMicros(m, 2)]));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clicks: { type: 'string' }, concurrency: { type: 'string' }, 'down-ms': { type: 'string' }, 'hang-ms': { type: 'string' } } });
  const clickCount = Number(values.clicks ?? 8_000);
  const concurrency = Number(values.concurrency ?? 64);
  const downMs = Number(values['down-ms'] ?? 2_500);
  const hangMs = Number(values['hang-ms'] ?? 2_500);
  if (!Number.isInteger(clickCount) || clickCount < 200 || clickCount > 100_000) throw new Error('--clicks must be 200..100000');
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 512) throw new Error('--concurrency must be 1..512');
  if (!(downMs >= 500 && downMs <= 60_000) || !(hangMs >= 500 && hangMs <= 60_000)) throw new Error('--down-ms and --hang-ms must be 500..60000');
  const deadline = Date.now() + DEADLINE_MS;

  const dataDir = mkdtempSync(join(tmpdir(), 'clickvault-load-'));
  const configFile = join(dataDir, 'load-config.json');
  writeFileSync(configFile, `${JSON.stringify(benchConfig(), null, 2)}\n`);
  const [port, dynamoPort] = [await freePort(), await freePort()];
  const proxy: FaultProxy = await startFaultProxy(dynamoPort);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TRACKER_CONFIG: configFile,
    TRACKER_DATA_DIR: dataDir,
    DYNAMODB_PORT: String(dynamoPort),
    BENCH_PB_KEY: KEY,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  delete env.DYNAMODB_ENDPOINT;
  const tracker = spawn(process.execPath, [TSX, join(__dirname, 'load-tracker.ts')], {
    env: { ...env, PORT: String(port), BENCH_STORE_ENDPOINT: proxy.endpoint },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let trackerLog = '';
  tracker.stderr?.on('data', (chunk: Buffer) => {
    trackerLog = (trackerLog + chunk.toString()).slice(-20_000);
  });
  const stop = () => {
    if (tracker.exitCode === null) tracker.kill('SIGTERM');
  };
  process.on('exit', stop);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the tracker did not start:\n${trackerLog}`)), 60_000);
      const check = () => {
        if (trackerLog.includes('Clickvault is running at')) {
          clearTimeout(timer);
          tracker.stderr?.off('data', check);
          resolve();
        }
      };
      tracker.stderr?.on('data', check);
      tracker.once('exit', (code) => reject(new Error(`the tracker exited with ${code}:\n${trackerLog}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const clicks: SentClick[] = [];
    const postbacks: SentPostback[] = [];
    let clickSeq = 0;
    let txSeq = 0;

    const sendClick = async (phase: Phase): Promise<SentClick> => {
      const i = clickSeq++;
      const campaign = CAMPAIGNS[i % CAMPAIGNS.length] as string;
      const param = campaign === 'load-a' ? 'fbclid' : 'gclid';
      const at = new Date().toISOString();
      const answer = await request(`${base}/click/${campaign}?sub1=adset-${i % 40}&sub2=ad-${i % 9}&${param}=X.${i}&cost=0.04`);
      const cid = answer.location ? (new URL(answer.location).searchParams.get('cid') ?? '') : '';
      const sent = { ...answer, cid, campaign, phase, at };
      clicks.push(sent);
      return sent;
    };
    const sendPostback = async (sale: Sale, phase: Phase, duplicate = false): Promise<void> => {
      const query = new URLSearchParams({
        ...(sale.cid ? { clickid: sale.cid } : {}),
        type: sale.type,
        sum: signed(sale),
        ...(sale.sendCurrency ? { currency: sale.currency } : {}),
        txid: sale.txid,
        key: KEY,
      });
      postbacks.push({ ...(await request(`${base}/postback?${query.toString()}`)), sale, phase, duplicate });
    };
    const payment = (click: SentClick): Sale => {
      const i = txSeq++;
      return { cid: click.cid, campaign: click.campaign, type: 'payment', txid: `P${i}`, amount: amountFor(i), currency: i % 7 === 3 ? 'USD' : 'EUR', sendCurrency: true };
    };
    const takeBack = (sale: Sale, type: 'refund' | 'chargeback', sendCurrency: boolean): Sale => ({ ...sale, type, txid: `${sale.txid}${type === 'refund' ? 'R' : 'C'}`, sendCurrency });

    // 1. Steady state.
    process.stderr.write(`load: tracker up at ${base}; steady: ${clickCount} clicks at concurrency ${concurrency}...\n`);
    const steadyStart = Date.now();
    await pool(Array.from({ length: clickCount }, (_, i) => i), concurrency, async () => void (await sendClick('steady')), deadline);
    const steadyClickSeconds = (Date.now() - steadyStart) / 1000;
    // A tenth of the clicks convert, on both campaigns.
    const converting = clicks.filter((c, i) => c.status === 302 && (i % 20 === 0 || i % 20 === 11));
    const payments = converting.map(payment);
    const chargebacks = payments.filter((_, j) => j % 13 === 6).map((p) => takeBack(p, 'chargeback', true));
    const organic: Sale[] = Array.from({ length: 20 }, (_, i) => ({ campaign: null, type: 'payment' as const, txid: `O${i}`, amount: amountFor(50_000 + i), currency: 'EUR', sendCurrency: true }));
    const unknown: Sale[] = payments.slice(0, 5).map((p, i) => ({ ...p, type: UNKNOWN_TYPE, txid: `U${i}` }));
    const postbackStart = Date.now();
    await pool([...payments, ...organic, ...unknown], concurrency, (s) => sendPostback(s, 'steady'), deadline);
    // Digistore24 retries; every 20th payment arrives twice. Chargebacks follow their payments.
    await pool([...payments.filter((_, j) => j % 20 === 0).map((s) => ({ s, dup: true })), ...chargebacks.map((s) => ({ s, dup: false }))], concurrency, ({ s, dup }) => sendPostback(s, 'steady', dup), deadline);
    const steadyPostbackSeconds = (Date.now() - postbackStart) / 1000;
    // Refunds of steady sales, half without currency (it comes from the stored payment): sent
    // during the fault.
    const steadyRefunds = payments.filter((_, j) => j % 5 === 0).map((p, k) => takeBack(p, 'refund', k % 2 === 0));

    // 2. The store fails while traffic continues.
    process.stderr.write(`load: fault: DynamoDB stopped ${downMs} ms, then hung ${hangMs} ms, while clicks and postbacks continue...\n`);
    const timeline: { at: string; mode: FaultMode }[] = [];
    const set = (mode: FaultMode) => {
      proxy.setMode(mode);
      timeline.push({ at: new Date().toISOString(), mode });
    };
    let faultOver = false;
    const faults = (async () => {
      await sleep(500);
      set('down');
      await sleep(downMs);
      set('up');
      await sleep(1_000);
      set('blackhole');
      await sleep(hangMs);
      set('up');
      await sleep(500);
      faultOver = true;
    })();
    const faultPayments: Sale[] = [];
    const faultStart = Date.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (!faultOver) {
          if (Date.now() > deadline) throw new Error('load test deadline passed');
          const click = await sendClick('fault');
          const n = clickSeq;
          if (click.status === 302 && n % 10 === 0) {
            const sale = payment(click);
            faultPayments.push(sale);
            await sendPostback(sale, 'fault');
          }
          const refund = n % 7 === 0 ? steadyRefunds.pop() : undefined;
          if (refund) await sendPostback(refund, 'fault');
        }
      }),
    );
    await faults;
    const faultSeconds = (Date.now() - faultStart) / 1000;

    // 3. After: what is left of the steady refunds, refunds of the fault's sales (their clicks
    // may still wait in the queue), then the operator's redrive, twice.
    const faultRefunds = faultPayments.filter((_, j) => j % 5 === 0).map((p) => takeBack(p, 'refund', true));
    await pool([...steadyRefunds, ...faultRefunds], concurrency, (s) => sendPostback(s, 'after'), deadline);
    const queue = new FileDeadLetterQueue(dataDir);
    const queuedBefore = await queue.list();
    const redrive = async () => {
      const { stdout } = await run(process.execPath, [TSX, join(ROOT, 'scripts/redrive.ts'), '--local', '--limit', '100000', '--json'], { env, cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
      return JSON.parse(stdout) as { received: number; replayed: number; outcomes: Record<string, number>; stillFailing: Record<string, number> };
    };
    process.stderr.write(`load: redrive of ${queuedBefore.length} queued messages...\n`);
    const firstRedrive = await redrive();
    const secondRedrive = await redrive();

    // 4. Checks, against the store itself and against the report.
    const client = createDynamoClient(`http://127.0.0.1:${dynamoPort}`, CALL_BUDGETS.tool);
    const tables = localTableNames();
    const storedClicks = await scanAll(client, tables.clicks);
    const storedConversions = await scanAll(client, tables.conversions);
    client.destroy();
    const queuedAfter = await queue.list();

    const answered = clicks.filter((c) => c.status === 302);
    const clickIds = new Set(storedClicks.map((c) => String(c.clickId)));
    const sales = postbacks.filter((p) => !p.duplicate && p.sale.type !== UNKNOWN_TYPE).map((p) => p.sale);
    const expectedKeys = new Set(sales.map(saleKey));
    const storedKeys = storedConversions.map((c) => `${String(c.clickId)}|${String(c.conversionKey)}`);
    const sentMoney = moneyByCurrency(sales.map((s) => ({ currency: s.currency, micros: toMicros(signed(s)) })));
    const storedMoney = moneyByCurrency(storedConversions.map((c) => ({ currency: String(c.currency), micros: toMicros(decimalOf(c.revenue)) })));
    const storedCurrencies = new Map(storedConversions.map((c) => [`${String(c.clickId)}|${String(c.conversionKey)}`, String(c.currency)]));

    // The report as it must be: built from what was sent, not from what was stored.
    const expected = new ReportBuilder({ by: ['campaign'], timeZone: 'UTC', costCurrency: 'EUR', retired: new Set() });
    for (const c of answered) expected.addClick({ clickId: c.cid, campaignId: c.campaign, createdAt: c.at, cost: '0.04' });
    const byId = new Map(answered.map((c) => [c.cid, c]));
    for (const s of sales) {
      const click = s.cid ? byId.get(s.cid) : undefined;
      expected.addConversion({
        clickId: s.cid ?? '~unattributed',
        ...(s.campaign ? { campaignId: s.campaign } : {}),
        type: s.type,
        counted: true,
        revenue: signed(s),
        currency: s.currency,
        createdAt: click?.at ?? new Date().toISOString(),
        ...(click ? { clickCreatedAt: click.at } : {}),
      });
    }
    const day = (offset: number) => new Date(Date.now() + offset * 86400_000).toISOString().slice(0, 10);
    const reportOut = await run(process.execPath, [TSX, join(ROOT, 'scripts/report.ts'), '--local', '--json', '--from', day(-1), '--to', day(1)], { env, cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    const reported = JSON.parse(reportOut.stdout) as unknown;
    const wanted = JSON.parse(formatJson(expected.rows())) as unknown;

    const queuedKinds = (list: typeof queuedBefore, kind: string) => list.filter((m) => m.kind === kind).length;
    const checks = {
      faultHappened: proxy.stats.reset > 0 && proxy.stats.swallowed > 0 && queuedKinds(queuedBefore, 'click') > 0 && queuedKinds(queuedBefore, 'postback') > unknown.length,
      everyClickAnswered: clicks.every((c) => c.status === 302 && c.cid !== ''),
      everyPostbackAnswered: postbacks.every((p) => p.status === 200 || p.status === 202),
      duplicatesMadeNone: postbacks.filter((p) => p.duplicate).every((p) => p.body.startsWith('OK duplicate')),
      everyClickStoredOnce: storedClicks.length === answered.length && clickIds.size === storedClicks.length && answered.every((c) => clickIds.has(c.cid)),
      everySaleStoredOnce: storedKeys.length === expectedKeys.size && new Set(storedKeys).size === storedKeys.length && storedKeys.every((k) => expectedKeys.has(k)),
      refundsInTheirPaymentsCurrency: sales.every((s) => storedCurrencies.get(saleKey(s)) === s.currency),
      everyCentAccountedFor: JSON.stringify(storedMoney) === JSON.stringify(sentMoney),
      reportMatchesWhatWasSent: JSON.stringify(reported) === JSON.stringify(wanted),
      onlyUnknownTypesLeftQueued: queuedAfter.length === unknown.length && queuedAfter.every((m) => m.reason === 'unknown_type'),
      secondRedriveChangesNothing: secondRedrive.replayed === 0 && JSON.stringify(secondRedrive.stillFailing) === JSON.stringify({ unknown_type: unknown.length }),
    };
    const results = {
      date: new Date().toISOString(),
      node: process.version,
      concurrency,
      steady: {
        clicks: summary(clicks.filter((c) => c.phase === 'steady'), steadyClickSeconds),
        postbacks: summary(postbacks.filter((p) => p.phase === 'steady'), steadyPostbackSeconds),
      },
      fault: {
        timeline,
        proxy: proxy.stats,
        clicks: summary(clicks.filter((c) => c.phase === 'fault'), faultSeconds),
        postbacks: postbacks.filter((p) => p.phase === 'fault').length,
        queued: { clicks: queuedKinds(queuedBefore, 'click'), postbacks: queuedKinds(queuedBefore, 'postback') },
      },
      redrive: { first: firstRedrive, second: secondRedrive },
      sent: { clicks: clicks.length, sales: sales.length, duplicates: postbacks.filter((p) => p.duplicate).length, unknownTypes: unknown.length, money: sentMoney },
      stored: { clicks: storedClicks.length, conversions: storedConversions.length, money: storedMoney, queued: queuedAfter.length },
      checks,
    };
    writeFileSync(join(__dirname, 'load-results.json'), `${JSON.stringify(results, null, 2)}\n`);
    const line = (name: string, s: ReturnType<typeof summary>) =>
      `${name.padEnd(16)} ${String(s.requests).padStart(6)} req  ${String(s.perSecond).padStart(6)}/s  p50 ${s.p50Ms.toFixed(2).padStart(8)} ms  p99 ${s.p99Ms.toFixed(2).padStart(8)} ms  max ${s.maxMs.toFixed(2).padStart(9)} ms`;
    const money = (m: Record<string, string>) => Object.entries(m).map(([c, v]) => `${v} ${c}`).join(', ');
    process.stdout.write(
      [
        line('clicks', results.steady.clicks),
        line('postbacks', results.steady.postbacks),
        line('clicks in fault', results.fault.clicks),
        `fault: ${proxy.stats.reset} connections reset, ${proxy.stats.swallowed} swallowed; queued ${results.fault.queued.clicks} clicks and ${results.fault.queued.postbacks} postbacks; redrive replayed ${firstRedrive.replayed}`,
        `sent ${clicks.length} clicks and ${sales.length} sales worth ${money(sentMoney)}; stored ${storedClicks.length} clicks and ${storedConversions.length} conversions worth ${money(storedMoney)}`,
        ...Object.entries(checks).map(([name, ok]) => `${ok ? 'ok  ' : 'FAIL'} ${name}`),
        '',
      ].join('\n'),
    );
    if (!Object.values(checks).every(Boolean)) {
      if (!checks.reportMatchesWhatWasSent) process.stderr.write(`report:\n${JSON.stringify(reported)}\nexpected:\n${JSON.stringify(wanted)}\n`);
      process.exitCode = 1;
    }
  } finally {
    stop();
    await proxy.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:load: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
