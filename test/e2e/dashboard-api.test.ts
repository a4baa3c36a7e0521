/**
 * The dashboard's API on `npm start`: every route answers the local store's data, as the CLIs
 * print it; a request with a foreign Host is refused (DNS rebinding); bad parameters are refused
 * with their name; nothing queued leaks its stored request (a postback's query holds the key).
 */
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { reportPorts } from '../../lambda/adapters/report-data';
import { answerDashboard, REPORT_BUDGET_MS, type DashboardPorts } from '../../lambda/core/dashboard-api';
import type { ReportReadRequest } from '../../lambda/core/report-query';
import { DASHBOARD_API_ROUTES } from '../../lambda/contract';
import { formatJson } from '../../lambda/core/report';
import { parseReportQuery, reportSettings, runReport } from '../../lambda/core/report-query';
import { startLocalTracker, type LocalTracker } from '../../lambda/local/server';
import { parseConfig } from '../../config/schema';
import { testConfig } from '../support/config';

const VISITOR_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
let tracker: LocalTracker;
let port: number;
let key: string;
let cid: string;
/** split's silence alarm at one click (so a click without a sale makes it silent); demo keeps the defaults. */
const config = (() => {
  const base = testConfig();
  return parseConfig({ ...base, campaigns: base.campaigns.map((c) => (c.id === 'split' ? { ...c, silenceAlarm: { hours: 2, minClicks: 1 } } : c)) });
})();

/** A GET with the Host header we choose (fetch would set its own). */
function get(path: string, host?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers: { host: host ?? `127.0.0.1:${port}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const ROUTE_PATHS = ['/api/report', '/api/inbound', '/api/trace/01AAAAAAAAAAAAAAAAAAAAAAAA', '/api/dlq', '/api/setup', '/api/alerts', '/dashboard/'];

beforeAll(async () => {
  tracker = await startLocalTracker({ config, dataDir: mkdtempSync(join(tmpdir(), 'cv-dash-api-')), port: 0, dynamoPort: 0, inMemory: true, archiveEveryMs: 0 });
  port = Number(new URL(tracker.url).port);
  key = tracker.postbackKey?.key ?? '';
  const response = await fetch(`${tracker.url}/click/demo?sub1=a&sub2=b`, { redirect: 'manual', headers: { 'user-agent': VISITOR_UA } });
  cid = new URL(response.headers.get('location') ?? '').searchParams.get('cid') ?? '';
  expect((await fetch(`${tracker.url}/postback?clickid=${cid}&type=payment&sum=19.99&currency=EUR&txid=A1&key=${key}`)).status).toBe(200);
  expect((await fetch(`${tracker.url}/postback?clickid=${cid}&type=Unknown&sum=1&txid=Q1&key=${key}`)).status).toBe(202);
});

afterAll(async () => {
  await tracker?.close();
});

describe('dashboard API, locally', () => {
  it('serves exactly the six routes of the contract', () => {
    expect(Object.values(DASHBOARD_API_ROUTES)).toEqual(['GET /api/report', 'GET /api/inbound', 'GET /api/trace/{clickId}', 'GET /api/dlq', 'GET /api/setup', 'GET /api/alerts']);
  });

  it.each([`evil.example:PORT`, `127.0.0.1.nip.io:PORT`, `localhost:1`, `127.0.0.1`, `LOCALHOST:PORT.evil`])('refuses Host "%s" on every route', async (host) => {
    for (const path of ROUTE_PATHS) {
      const answer = await get(path, host.replace('PORT', String(port)));
      expect(answer.status).toBe(403);
      expect(answer.body).toMatch(/answer only on http:\/\/127\.0\.0\.1:\d+ or http:\/\/localhost:\d+/);
      expect(answer.body).not.toContain('payment');
    }
  });

  it('answers localhost:PORT as well as 127.0.0.1:PORT', async () => {
    expect((await get('/api/dlq', `localhost:${port}`)).status).toBe(200);
    expect((await get('/api/dlq')).status).toBe(200);
  });

  it('GET /api/report: the rows of runReport (what npm run report -- --json prints), exact decimals, no cache', async () => {
    const day = new Date().toISOString().slice(0, 10);
    const answer = await get(`/api/report?from=${day}&to=${day}&tz=UTC&by=campaign`);
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    const client = createDynamoClient(tracker.dynamo.endpoint);
    const expected = await runReport(parseReportQuery({ from: day, to: day, tz: 'UTC', by: 'campaign' }), reportSettings(config), reportPorts(client, tracker.tables));
    client.destroy();
    const body = JSON.parse(answer.body) as { rows: unknown; totals: { clicks: number } };
    expect(body.rows).toEqual(JSON.parse(formatJson(expected.rows)));
    expect(answer.body).toContain('"EUR": 19.99');
    expect(body.totals.clicks).toBe(1);
  });

  it('GET /api/report with a drill-down filter counts only that path', async () => {
    const filter = encodeURIComponent(JSON.stringify({ campaign: 'demo', sub1: 'a' }));
    const body = JSON.parse((await get(`/api/report?by=sub2&filter=${filter}`)).body) as { rows: { sub2: string; clicks: number }[] };
    expect(body.rows.map((r) => [r.sub2, r.clicks])).toEqual([['b', 1]]);
    const none = JSON.parse((await get(`/api/report?by=sub2&filter=${encodeURIComponent(JSON.stringify({ campaign: 'demo', sub1: 'zzz' }))}`)).body) as { rows: unknown[] };
    expect(none.rows).toEqual([]);
  });

  it('GET /api/report is bounded: the read gets a deadline and a raw budget, and past it the answer says to narrow the range (422)', async () => {
    const client = createDynamoClient(tracker.dynamo.endpoint);
    const real = reportPorts(client, tracker.tables);
    const seen: ReportReadRequest[] = [];
    const ports = (maxRawItems?: number): DashboardPorts =>
      ({
        settings: reportSettings(config),
        // The real read port on the local store; the test only narrows its raw budget.
        report: { catalog: real.catalog, read: (req: ReportReadRequest, sinks: Parameters<typeof real.read>[1]) => (seen.push(req), real.read(maxRawItems === undefined ? req : { ...req, limits: { ...req.limits, maxRawItems } }, sinks)) },
      }) as unknown as DashboardPorts;
    try {
      const started = Date.now();
      expect((await answerDashboard('report', { by: 'campaign' }, ports())).status).toBe(200);
      expect(seen[0]?.limits?.maxRawItems).toBeGreaterThan(0);
      expect(seen[0]?.limits?.deadline).toBeGreaterThanOrEqual(started + REPORT_BUDGET_MS);
      const narrow = await answerDashboard('report', { by: 'campaign' }, ports(0));
      expect(narrow.status).toBe(422);
      expect(narrow.json).toMatch(/narrow the range/);
    } finally {
      client.destroy();
    }
  });

  it.each([
    ['from=2026-13-01', 'from'],
    ['to=yesterday', 'to'],
    ['from=2026-11-20&to=2026-11-10', 'from'],
    ['from=2020-01-01&to=2026-11-10', 'from'],
    ['tz=Mars%2FOlympus', 'tz'],
    ['by=campaign,bogus', 'by'],
    ['filter=%7Bnot-json', 'filter'],
    ['filter=%7B%22bogus%22%3A1%7D', 'filter.bogus'],
    ['tests=yes', 'tests'],
  ])('GET /api/report?%s is refused naming %s', async (query, parameter) => {
    const answer = await get(`/api/report?${query}`);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ parameter });
  });

  it('GET /api/inbound: the latest postbacks with outcome and answer; limit is checked', async () => {
    const body = JSON.parse((await get('/api/inbound?limit=10')).body) as { entries: { txid?: string; outcome: string; answer: string }[] };
    expect(body.entries.map((e) => e.txid)).toEqual(expect.arrayContaining(['A1', 'Q1']));
    expect((await get('/api/inbound?limit=0')).status).toBe(400);
    expect((await get('/api/inbound?limit=100000')).status).toBe(400);
  });

  it('GET /api/trace/{clickId}: the click, its postbacks, conversions and queued failures, without the stored request', async () => {
    const answer = await get(`/api/trace/${cid}`);
    const body = JSON.parse(answer.body) as { found: boolean; click: { subs: Record<string, string> }; conversions: unknown[]; queued: Record<string, unknown>[] };
    expect(body.found).toBe(true);
    expect(body.click.subs).toEqual({ sub1: 'a', sub2: 'b' });
    expect(body.conversions).toHaveLength(1);
    expect(body.queued.map((m) => m.reason)).toEqual(['unknown_type']);
    expect(answer.body).not.toContain(key);
    expect((await get('/api/trace/%3Cscript%3E')).status).toBe(400);
    expect(JSON.parse((await get('/api/trace/01AAAAAAAAAAAAAAAAAAAAAAAA')).body)).toMatchObject({ found: false });
  });

  it('GET /api/dlq: counts by reason with what to do, and no stored request', async () => {
    const answer = await get('/api/dlq');
    const body = JSON.parse(answer.body) as { total: number; reasons: { reason: string; count: number; advice: string }[] };
    expect(body.total).toBe(1);
    expect(body.reasons).toEqual([expect.objectContaining({ reason: 'unknown_type', count: 1, advice: expect.stringMatching(/conversionTypes/) })]);
    expect(answer.body).not.toContain(key);
    // Reading does not take the message out of the queue.
    expect(await tracker.deadLetters.list()).toHaveLength(1);
  });

  it('GET /api/setup: the URLs of npm run urls -- --local, with the key only in the S2S ones', async () => {
    const body = JSON.parse((await get('/api/setup')).body) as { urls: Record<string, string>; scriptUrl: string; goUrl: string; campaigns: { campaignId: string; clickUrl: string; directTracking: boolean }[] };
    expect(body.scriptUrl).toBe(`http://127.0.0.1:${port}/t.js`);
    expect(body.goUrl).toBe(`http://127.0.0.1:${port}/go?clickid=`);
    // No landers and no corsOrigins in this config: no page may call the JSON click, so no lander script.
    expect(body.campaigns.map((c) => c.directTracking)).toEqual([false, false]);
    expect(body.urls.affiliateS2S).toBe(`http://127.0.0.1:${port}/postback?clickid={cid}&sum={amount_affiliate}&currency={currency}&txid={transaction_id}&key=${key}&type=`);
    expect(body.urls.pixel).not.toContain('key=');
    expect(body.campaigns.map((c) => c.clickUrl)).toEqual([`http://127.0.0.1:${port}/click/demo`, `http://127.0.0.1:${port}/click/split`]);
  });

  it('GET /api/alerts: the silence check now, for every campaign whose alarm is on (the timer runs the same check)', async () => {
    const before = JSON.parse((await get('/api/alerts')).body) as { silent: number; campaigns: { campaignId: string; clicks: number; silent: boolean }[] };
    expect(before.campaigns.map((c) => [c.campaignId, c.clicks, c.silent])).toEqual([
      ['demo', 1, false],
      ['split', 0, false],
    ]);
    expect(before.silent).toBe(0);
    // A click on split and no sale: silent at once (minClicks 1), with what to check.
    expect((await fetch(`${tracker.url}/click/split`, { redirect: 'manual', headers: { 'user-agent': VISITOR_UA } })).status).toBe(302);
    const answer = await get('/api/alerts');
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    const body = JSON.parse(answer.body) as { checkedAt: string; silent: number; campaigns: { campaignId: string; silent: boolean; message?: string; hours: number; minClicks: number }[] };
    expect(body.silent).toBe(1);
    expect(body.campaigns.find((c) => c.campaignId === 'split')).toMatchObject({ silent: true, hours: 2, minClicks: 1, message: expect.stringMatching(/^split: 1 click, no postback for 2 h — check the Digistore24 postback URL/) });
    expect(body.campaigns.find((c) => c.campaignId === 'demo')).toMatchObject({ silent: false });
    // The local timer's check is the same function.
    expect((await tracker.checkSilence()).campaigns.map((c) => [c.campaignId, c.silent])).toEqual([
      ['demo', false],
      ['split', true],
    ]);
  });

  it('refuses what is not a GET, and unknown API paths', async () => {
    expect((await fetch(`${tracker.url}/api/report`, { method: 'POST' })).status).toBe(404);
    expect((await get('/api/other')).status).toBe(404);
  });
});
