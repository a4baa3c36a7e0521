/**
 * The whole loop a marketer runs with `npm start`, over real HTTP: click -> redirect ->
 * postback -> pixel -> duplicate -> refund -> report, with the queue and the refusals.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { buildReport, formatJson, startOfDay } from '../../lambda/core/report';
import { loadReportData } from '../../lambda/adapters/report-data';
import { startLocalTracker, type LocalTracker } from '../../lambda/local/server';
import { loadConfig } from '../../config/load';
import { scanAll } from '../support/dynamo';
import { DESKTOP_UA } from '../support/browser';

const run = promisify(execFile);
let tracker: LocalTracker;
let dataDir: string;
/** The postback key npm start generated (shipped config: keys: [{ generated: true }]). */
let key: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cv-e2e-'));
  tracker = await startLocalTracker({ config: loadConfig(), dataDir, port: 0, dynamoPort: 0 });
  key = tracker.postbackKey?.key ?? '';
});

afterAll(async () => {
  await tracker?.close();
});

// As a visitor's browser: Node's own user agent would be flagged as a bot (and not counted).
const http = (path: string, init: RequestInit = {}) => fetch(`${tracker.url}${path}`, { redirect: 'manual', ...init, headers: { 'user-agent': DESKTOP_UA, ...(init.headers as Record<string, string> | undefined) } });

async function click(query = ''): Promise<string> {
  const response = await http(`/click/demo${query}`);
  expect(response.status).toBe(302);
  const location = response.headers.get('location') ?? '';
  expect(location.startsWith('https://www.digistore24.com/redir/123456/demo-affiliate/?cid=')).toBe(true);
  return new URL(location).searchParams.get('cid') ?? '';
}

async function report() {
  // Yesterday to tomorrow: a run that crosses midnight UTC still sees its clicks.
  const today = startOfDay(new Date().toISOString().slice(0, 10), 'UTC').getTime();
  const data = await loadReportData({
    client: createDynamoClient(tracker.dynamo.endpoint),
    tables: tracker.tables,
    campaigns: ['demo'],
    from: new Date(today - 86400_000),
    to: new Date(today + 2 * 86400_000),
    includeUnattributed: true,
  });
  return JSON.parse(formatJson(buildReport(data.clicks, data.conversions, { by: ['campaign'], timeZone: 'UTC', costCurrency: 'EUR' }))) as unknown;
}

describe('npm start, end to end', () => {
  it('refuses a forged sale by default: no key, no sale (the shipped config generates one)', async () => {
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const forged = '/postback?type=payment&sum=999999999999&currency=EUR';
    for (const attempt of [forged, forged, `${forged}&key=guess`, `/postback/guess?type=payment&sum=999999999999`]) {
      const answer = await http(attempt);
      expect(answer.status).toBe(403);
      expect(await answer.text()).toMatch(/^Forbidden: .*Nothing was recorded/);
    }
    // A forged sale on a click of one's own: refused too, so nothing reaches the ad platform either.
    const cid = await click('?fbclid=FORGER');
    expect((await http(`/postback?clickid=${cid}&type=payment&sum=1000&txid=F1`)).status).toBe(403);
    expect(await scanAll(createDynamoClient(tracker.dynamo.endpoint), tracker.tables.conversions)).toEqual([]);
    expect(await tracker.deadLetters.list()).toEqual([]);
  });

  it('counts a Digistore24 sale once, its refund against it, and explains everything else', async () => {
    // The shipped demo campaign does not opt in to URL costs: cost=0.10 is ignored (no cost in the report).
    const cid = await click('?sub1=adset-1&fbclid=FB1&cost=0.10');
    await click('?sub1=adset-2');

    // The order-form pixel, exactly as Digistore24 calls it.
    const pixel = await http(`/postback?format=img&clickid=${cid}&type=InitiateCheckout`);
    expect(pixel.status).toBe(200);
    expect(pixel.headers.get('content-type')).toBe('image/gif');
    expect(Buffer.from(await pixel.arrayBuffer()).subarray(0, 6).toString()).toBe('GIF89a');

    // The S2S postback URL from the README with {transaction_type} appended, as Digistore24 fills it.
    const sale = `/postback?clickid=${cid}&sum=23.50&currency=EUR&txid=98765431&key=${key}&type=payment`;
    expect(await (await http(sale)).text()).toBe('OK\n');
    const again = await http(sale);
    expect(again.status).toBe(200);
    expect(await again.text()).toMatch(/^OK duplicate/);

    const refund = await http('/postback', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      // The key may travel in a POST body too.
      body: `clickid=${cid}&sum=-23.50&currency=EUR&txid=98765999&type=refund&key=${key}`,
    });
    expect(refund.status).toBe(200);

    // Digistore24's "Test" button: the click id is still the macro.
    const test = await http(`/postback?clickid=%7Bcid%7D&key=${key}&type=payment`);
    expect(test.status).toBe(200);
    expect(await test.text()).toMatch(/^Test postback received/);

    // Bad input: 400, named parameter, nothing stored.
    const bad = await http(`/postback?clickid=${cid}&type=payment&sum=12abc&key=${key}`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('sum: "12abc" is not a decimal number');

    // Unknown type and unknown click are kept in the queue.
    expect((await http(`/postback?clickid=${cid}&type=Purchase&sum=1&key=${key}`)).status).toBe(202);
    expect((await http(`/postback?clickid=01AAAAAAAAAAAAAAAAAAAAAAAA&type=payment&sum=1&key=${key}`)).status).toBe(202);

    expect(await report()).toEqual([
      { campaignId: 'demo', retired: false, clicks: 3, bots: 0, lpClicks: 0, lpCtr: null, conversions: { payment: 1, refund: 1 }, revenue: { EUR: 0 }, cr: 0.3333, epc: { EUR: 0 }, partial: false },
    ]);
    const stored = await scanAll(createDynamoClient(tracker.dynamo.endpoint), tracker.tables.conversions);
    expect(stored.map((c) => c.conversionKey).sort()).toEqual(['InitiateCheckout|', 'payment|98765431', 'refund|98765999']);

    const queued = await tracker.deadLetters.list();
    expect(queued.map((m) => m.reason)).toEqual(['unknown_type', 'unknown_click']);
    expect(queued[0]?.request.query).toBe(`clickid=${cid}&type=Purchase&sum=1`);
    expect(JSON.stringify(queued)).not.toContain(key);
  });

  it('prints the report and the queue from the CLIs', async () => {
    const { DYNAMODB_ENDPOINT: _testDynamo, ...inherited } = process.env;
    const env = {
      ...inherited,
      TRACKER_DATA_DIR: dataDir,
      DYNAMODB_PORT: String(tracker.dynamo.port),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const tsx = join(__dirname, '../../node_modules/.bin/tsx');
    const day = (offset: number) => new Date(Date.now() + offset * 86400_000).toISOString().slice(0, 10);
    const range = ['--from', day(-1), '--to', day(1)];
    const reportOut = await run(tsx, ['scripts/report.ts', '--local', '--json', ...range], { env, cwd: join(__dirname, '../..') });
    expect(JSON.parse(reportOut.stdout)).toEqual(await report());
    const table = await run(tsx, ['scripts/report.ts', '--local', ...range], { env, cwd: join(__dirname, '../..') });
    expect(table.stdout).toMatch(/^campaign\s+clicks\s+conversions\s+revenue\s+cr\s+epc\s+cost\s+profit\s+roi\n/);
    expect(table.stdout).toContain('payment=1 refund=1');

    const dlq = await run(tsx, ['scripts/dlq.ts', '--local', '--json'], { env, cwd: join(__dirname, '../..') });
    expect((JSON.parse(dlq.stdout) as { reason: string }[]).map((m) => m.reason)).toEqual(['unknown_type', 'unknown_click']);

    // npm run urls -- --local --json: exactly the four URLs; only the two S2S URLs carry the key.
    const port = new URL(tracker.url).port;
    const urls = await run(tsx, ['scripts/urls.ts', '--local', '--json'], { env: { ...env, PORT: port }, cwd: join(__dirname, '../..') });
    const base = `http://127.0.0.1:${port}`;
    expect(JSON.parse(urls.stdout)).toEqual({
      affiliateS2S: `${base}/postback?clickid={cid}&sum={amount_affiliate}&currency={currency}&txid={transaction_id}&key=${key}&type=`,
      vendorS2S: `${base}/postback?clickid={cid}&sum={amount_netto}&currency={currency}&txid={transaction_id}&key=${key}&type=`,
      pixel: `${base}/postback?format=img&clickid=__cid__&type=InitiateCheckout`,
      ipn: `${base}/ipn/digistore24`,
    });
    // The printed URL works as Digistore24 would fill it.
    const cid = await click('?sub1=urls');
    const filled = (JSON.parse(urls.stdout) as { affiliateS2S: string }).affiliateS2S
      .replace('{cid}', cid).replace('{amount_affiliate}', '12.00').replace('{currency}', 'EUR').replace('{transaction_id}', 'URLS-1');
    expect(await (await fetch(`${filled}payment`)).text()).toBe('OK\n');
  }, 60_000);

  it('keeps the generated key in the data directory (owner-only), and reuses it after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-e2e-key-'));
    const first = await startLocalTracker({ config: loadConfig(), dataDir: dir, port: 0, dynamoPort: 0, inMemory: true });
    await first.close();
    expect(first.postbackKey).toMatchObject({ created: true, path: join(dir, 'postback-key') });
    expect(statSync(join(dir, 'postback-key')).mode & 0o777).toBe(0o600);
    const second = await startLocalTracker({ config: loadConfig(), dataDir: dir, port: 0, dynamoPort: 0, inMemory: true });
    await second.close();
    expect(second.postbackKey).toEqual({ key: first.postbackKey?.key, path: join(dir, 'postback-key'), created: false });
    expect(second.postbackKey?.key).not.toBe(key);
  });

  it('keeps redirecting when storage is down, and queues the click and the postback', async () => {
    const before = (await tracker.deadLetters.list()).length;
    await tracker.dynamo.close();
    const cid = await click('?sub1=during-outage');
    const postback = await http(`/postback?clickid=${cid}&type=payment&sum=5&txid=OUT-1&key=${key}`);
    expect(postback.status).toBe(202);
    const queued = (await tracker.deadLetters.list()).slice(before);
    expect(queued).toEqual([
      expect.objectContaining({ kind: 'click', reason: 'storage_error', clickId: cid, click: expect.objectContaining({ clickId: cid, subs: { sub1: 'during-outage' } }) }),
      expect.objectContaining({ kind: 'postback', reason: 'storage_error', clickId: cid }),
    ]);
  });
});
