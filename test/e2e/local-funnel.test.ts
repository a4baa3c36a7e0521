/**
 * The funnel affiliates run, end to end over real HTTP against `npm start`'s server: ad ->
 * click -> lander -> /go -> offer -> sale, a direct visit (t.js's JSON click, CORS), a link
 * previewer and a prefetch; then `npm run report -- --by lander`, and `npm run trace`.
 * Requests are sent with a desktop browser's user agent: Node's own is flagged as a bot.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLocalTracker, type LocalTracker } from '../../lambda/local/server';
import { DESKTOP_UA, FACEBOOK_PREVIEW_UA } from '../support/browser';
import { funnelConfig } from '../support/config';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
let tracker: LocalTracker;
let dataDir: string;
let configFile: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cv-funnel-'));
  const config = funnelConfig();
  configFile = join(dataDir, 'tracker.config.json');
  writeFileSync(configFile, JSON.stringify(config));
  tracker = await startLocalTracker({ config, dataDir, port: 0, dynamoPort: 0 });
});

afterAll(async () => {
  await tracker?.close();
});

const http = (path: string, headers: Record<string, string> = {}) => fetch(`${tracker.url}${path}`, { redirect: 'manual', headers: { 'user-agent': DESKTOP_UA, ...headers } });

function cli(args: string[]) {
  const { DYNAMODB_ENDPOINT: _testDynamo, ...inherited } = process.env;
  const env = { ...inherited, TRACKER_DATA_DIR: dataDir, DYNAMODB_PORT: String(tracker.dynamo.port), TRACKER_CONFIG: configFile, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  return run(TSX, args, { env, cwd: ROOT });
}

describe('a lander funnel, end to end', () => {
  it('ad -> click -> lander -> /go -> offer -> sale; a direct visit; bots apart; report by lander; trace', async () => {
    // The ad's click goes to a lander (not the offer) with the click id in the lander URL.
    const click = await http('/click/funnel?sub1=adset-1&fbclid=FB-E2E');
    expect(click.status).toBe(302);
    const landerUrl = new URL(click.headers.get('location') ?? '');
    const cid = landerUrl.searchParams.get('clickid') ?? landerUrl.searchParams.get('cid') ?? '';
    expect(cid).toMatch(/^[0-9A-Z]{30}$/);
    expect(['lp.example.com', 'quiz.example.net']).toContain(landerUrl.host);

    // The lander's call to action: the lander click, then the Digistore24 offer with the same id.
    const go = await http(`/go?clickid=${cid}&offer=ds24`);
    expect(go.status).toBe(302);
    expect(go.headers.get('location')).toBe(`https://www.digistore24.com/redir/123456/aff/?cid=${cid}`);
    expect((await http(`/go?clickid=${cid}&offer=ds24`)).status).toBe(302); // a repeat: counted once

    // The sale, as Digistore24 posts it.
    const key = tracker.postbackKey?.key ?? '';
    const sale = await http(`/postback?clickid=${cid}&sum=47.00&currency=EUR&txid=E2E-1&key=${key}&type=payment`);
    expect(await sale.text()).toBe('OK\n');

    // A direct visit: t.js on the bridge page asks for a click as JSON (CORS for the lander's origin).
    const direct = await http(`/click/funnel?format=json&sub1=adset-2&page=${encodeURIComponent('https://lp.example.com/bridge?sub1=adset-2')}`, { origin: 'https://lp.example.com' });
    expect(direct.status).toBe(200);
    expect(direct.headers.get('access-control-allow-origin')).toBe('https://lp.example.com');
    expect(direct.headers.get('vary')).toBe('Origin');
    const body = (await direct.json()) as { clickid: string; campaignId: string; redirectUrl: string; bot: boolean };
    expect(body).toEqual({ clickid: expect.stringMatching(/^[0-9A-Z]{30}$/), campaignId: 'funnel', redirectUrl: `https://lp.example.com/bridge?clickid=${body.clickid}&s1=adset-2`, bot: false });
    const t = await http('/t.js');
    expect(t.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(Number(t.headers.get('content-length'))).toBeLessThanOrEqual(3072);

    // A link previewer and a browser prefetch.
    expect((await http('/click/funnel?sub1=adset-1', { 'user-agent': FACEBOOK_PREVIEW_UA })).status).toBe(302);
    const prefetch = await http('/click/funnel?sub1=adset-1', { 'sec-purpose': 'prefetch' });
    expect(prefetch.status).toBe(503);
    expect(prefetch.headers.get('cache-control')).toBe('no-store');

    const day = (offset: number) => new Date(Date.now() + offset * 86400_000).toISOString().slice(0, 10);
    const range = ['--from', day(-1), '--to', day(1)];
    const byLander = JSON.parse((await cli(['scripts/report.ts', '--local', '--json', '--campaign', 'funnel', '--by', 'lander', ...range])).stdout) as Record<string, unknown>[];
    const clicked = byLander.find((r) => r.landerId === (landerUrl.host === 'lp.example.com' ? 'bridge' : 'quiz'));
    expect(byLander.reduce((n, r) => n + Number(r.clicks), 0)).toBe(2);
    expect(byLander.reduce((n, r) => n + Number(r.bots), 0)).toBe(1);
    expect(byLander.reduce((n, r) => n + Number(r.lpClicks), 0)).toBe(1);
    expect(clicked).toMatchObject({ lpClicks: 1, conversions: { payment: 1 }, revenue: { EUR: 47 } });
    const table = (await cli(['scripts/report.ts', '--local', '--campaign', 'funnel', '--by', 'lander', ...range])).stdout;
    expect(table).toMatch(/^lander\s+clicks\s+bots\s+lpClicks\s+lpCtr\s+conversions/);

    const trace = (await cli(['scripts/trace.ts', cid, '--local'])).stdout;
    expect(trace).toMatch(/campaign funnel, lander (bridge|quiz), offer ds24, channel facebook \(channel click id FB-E2E\)/);
    expect(trace).toMatch(/lander click \(\/go\) -> offer ds24/);
  }, 90_000);
});
