/**
 * The dashboard in a real browser (headless Chromium through playwright-core) against `npm
 * start`'s server: the campaign table equals `npm run report -- --json` for the same range,
 * drill-down to sub3 and back (and a reload of a drilled-down view), the live log shows a
 * postback just sent, the trace, the dead-letter counts and the setup URLs, and a sub value of
 * `<img src=x onerror=alert(1)>` shows as text and runs nothing. A screenshot of each view is
 * written to DASHBOARD_SCREENSHOTS (default a temporary directory, printed).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startLocalTracker, type LocalTracker } from '../../lambda/local/server';
import { buildDashboard } from '../../lib/dashboard-build';
import { FUNNEL_LANDERS, funnelConfig } from '../support/config';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  // eslint-disable-next-line no-console
  console.warn(`Dashboard browser test NOT RUN: no chromium at ${CHROMIUM}.`);
}
const suite = available ? describe : describe.skip;

/** A person's browser: bot detection must not take these clicks for a bot's. */
const VISITOR_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const XSS = '<img src=x onerror=alert(1)>';

let tracker: LocalTracker;
let browser: Browser;
let page: Page;
let dataDir: string;
let configFile: string;
let key: string;
let shots: string;
let hostileClick: string;
const dialogs: string[] = [];
const pageErrors: string[] = [];
const today = new Date().toISOString().slice(0, 10);
const weekAgo = new Date(Date.now() - 6 * 86400_000).toISOString().slice(0, 10);

async function click(campaign: string, query: string): Promise<string> {
  const response = await fetch(`${tracker.url}/click/${campaign}?${query}`, { redirect: 'manual', headers: { 'user-agent': VISITOR_UA } });
  expect(response.status).toBe(302);
  const location = response.headers.get('location') ?? '';
  const url = new URL(location);
  return url.searchParams.get('cid') ?? url.searchParams.get('c') ?? '';
}

async function postback(query: string): Promise<number> {
  return (await fetch(`${tracker.url}/postback?${query}&key=${key}`)).status;
}

/** The CLI's environment: the test suite's shared DynamoDB endpoint left out, so it finds this tracker's. */
function cliEnv(): NodeJS.ProcessEnv {
  const { DYNAMODB_ENDPOINT: _shared, ...inherited } = process.env;
  return inherited;
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** The table as text cells, header first. */
async function tableCells(): Promise<string[][]> {
  return page.$$eval('#report tr', (rows) => rows.map((r) => [...r.querySelectorAll('th, td')].map((c) => (c.querySelector('button.drill')?.textContent ?? c.textContent ?? '').trim())));
}

// A browser, a CLI run and a local tracker on a shared, busy machine: minutes, not the default 30 s.
jest.setTimeout(180_000);

suite('dashboard in headless Chromium', () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cv-dashboard-'));
    const config = funnelConfig();
    configFile = join(dataDir, 'tracker.config.json');
    writeFileSync(configFile, JSON.stringify(config));
    const built = buildDashboard(join(dataDir, 'dist'));
    tracker = await startLocalTracker({ config, dataDir, port: 0, dynamoPort: 0, inMemory: true, archiveEveryMs: 0, dashboardDir: built.dir });
    key = tracker.postbackKey?.key ?? '';
    shots = process.env.DASHBOARD_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'cv-dashboard-shots-'));
    mkdirSync(shots, { recursive: true });

    // Traffic: two campaigns, a drill path sub1 -> sub2 -> sub3 and a hostile sub everywhere.
    const a = await click('demo', `sub1=adset-1&sub2=ad-1&sub3=creative-1&cost=0.40`);
    await click('demo', `sub1=adset-1&sub2=ad-1&sub3=creative-2&cost=0.40`);
    await click('demo', `sub1=adset-1&sub2=ad-2&sub3=creative-1`);
    const x = await click('demo', `sub1=${encodeURIComponent(XSS)}&sub2=${encodeURIComponent(XSS)}&sub3=${encodeURIComponent(XSS)}`);
    const s = await click('split', 'sub1=g-1');
    await click('split', 'sub1=g-2');
    expect(await postback(`clickid=${a}&type=payment&sum=49.90&currency=EUR&txid=T-A`)).toBe(200);
    expect(await postback(`clickid=${x}&type=payment&sum=10.00&currency=EUR&txid=T-X`)).toBe(200);
    hostileClick = x;
    expect(await postback(`clickid=${s}&type=lead&txid=L-1`)).toBe(200);
    // One the tracker must queue: a type the config does not know.
    expect(await postback(`clickid=${s}&type=Purchase&sum=5&txid=Q-1`)).toBe(202);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await tracker?.close();
    // eslint-disable-next-line no-console
    if (shots) console.log(`dashboard screenshots: ${shots}`);
  });

  it('shows the campaign table of npm run report -- --json for the same range', async () => {
    await page.goto(`${tracker.url}/dashboard/?view=report&range=last7&tz=UTC`);
    await page.waitForSelector('#report[aria-busy="false"] tbody tr');
    await expect(page.textContent('#no-login')).resolves.toMatch(/no login/);
    const { stdout } = await run(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['scripts/report.ts', '--local', '--json', '--from', weekAgo, '--to', today, '--tz', 'UTC'],
      { cwd: ROOT, env: { ...cliEnv(), TRACKER_CONFIG: configFile, DYNAMODB_PORT: new URL(tracker.dynamo.endpoint).port, TRACKER_DATA_DIR: dataDir } },
    );
    const expected = JSON.parse(stdout) as Record<string, unknown>[];
    const cells = await tableCells();
    const header = cells[0] ?? [];
    const cols = await page.$$eval('#report thead th[data-col]', (ths) => ths.map((th) => th.getAttribute('data-col') ?? ''));
    expect(cells.length - 1).toBe(expected.length);
    expect(expected.map((r) => r.campaignId)).toEqual(['demo', 'split']);
    for (const [i, row] of expected.entries()) {
      const shown = cells[i + 1] ?? [];
      expect(shown[0]).toBe(String(row.campaignId));
      cols.forEach((col, c) => {
        const [field, sub] = col.split('.');
        const raw = field ? row[field] : undefined;
        const value = sub !== undefined && raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)[sub] : raw;
        const text = (shown[c + 1] ?? '').replace(/,/g, '');
        if (value === undefined) return expect(text).toBe('-');
        if (value === null) return expect(text).toBe('n/a');
        if (field === 'cr' || field === 'roi') return expect(Math.abs(Number(text.replace('%', '')) / 100 - Number(value))).toBeLessThan(0.0006);
        // Money: the exact decimals of the JSON (2 places, 4 for EPC).
        if (['revenue', 'cost', 'profit', 'epc'].includes(field ?? '')) return expect(text).toBe(Number(value).toFixed(field === 'epc' ? 4 : 2));
        return expect(text).toBe(String(value));
      });
    }
    expect(header.slice(1).length).toBe(cols.length);
    // Totals add up what the table shows.
    const totalClicks = await page.textContent('#totals div:first-child dd');
    expect(Number(totalClicks)).toBe(expected.reduce((n, r) => n + Number(r.clicks), 0));
    await shot('1-campaigns');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('1-campaigns-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('drills from campaign to sub1, sub2, sub3, keeps the path in the URL through a reload, and goes back', async () => {
    await page.goto(`${tracker.url}/dashboard/?view=report&range=last7&tz=UTC`);
    await page.waitForSelector('#report[aria-busy="false"] tbody tr');
    const drill = async (value: string, next: string) => {
      await page.locator('#report tbody th button.drill', { hasText: value }).first().click();
      await page.locator(`#report tbody [data-drill="${next}"]`).first().click();
      await page.waitForSelector(`#report[data-by="${next}"][aria-busy="false"]`);
    };
    await drill('demo', 'sub1');
    expect((await tableCells()).slice(1).map((r) => r[0])).toEqual(expect.arrayContaining(['adset-1', XSS]));
    await drill('adset-1', 'sub2');
    await drill('ad-1', 'sub3');
    const rows = (await tableCells()).slice(1);
    expect(rows.map((r) => r[0])).toEqual(['creative-1', 'creative-2']);
    expect(await page.locator('.crumbs a.crumb').allTextContents()).toEqual(['campaign: demo', 'sub1: adset-1', 'sub2: ad-1']);
    const url = new URL(page.url());
    expect(url.searchParams.get('by')).toBe('sub3');
    expect(JSON.parse(url.searchParams.get('path') ?? '[]')).toEqual([
      { key: 'campaign', value: 'demo' },
      { key: 'sub1', value: 'adset-1' },
      { key: 'sub2', value: 'ad-1' },
    ]);
    await shot('2-drilled-sub3');
    await page.reload();
    await page.waitForSelector('#report[data-by="sub3"][aria-busy="false"] tbody tr');
    expect((await tableCells()).slice(1).map((r) => r[0])).toEqual(['creative-1', 'creative-2']);
    // Back one step with the breadcrumb, then with the browser, then to the top.
    await page.locator('.crumbs a.crumb', { hasText: 'sub1: adset-1' }).click();
    await page.waitForSelector('#report[data-by="sub2"][aria-busy="false"]');
    expect((await tableCells()).slice(1).map((r) => r[0])).toEqual(['ad-1', 'ad-2']);
    await page.goBack();
    await page.waitForSelector('#report[data-by="sub3"][aria-busy="false"]');
    await page.locator('.crumbs a', { hasText: 'All' }).first().click();
    await page.waitForSelector('#report[data-by="campaign"][aria-busy="false"]');
    expect((await tableCells()).slice(1).map((r) => r[0])).toEqual(['demo', 'split']);
  });

  it('renders a hostile sub value as text and runs nothing', async () => {
    const path = JSON.stringify([{ key: 'campaign', value: 'demo' }, { key: 'sub1', value: XSS }]);
    await page.goto(`${tracker.url}/dashboard/?view=report&range=last7&tz=UTC&by=sub2&path=${encodeURIComponent(path)}`);
    await page.waitForSelector('#report[aria-busy="false"] tbody tr');
    expect((await tableCells()).slice(1).map((r) => r[0])).toEqual([XSS]);
    expect(await page.locator('.crumbs').textContent()).toContain(`sub1: ${XSS}`);
    expect(await page.locator('img').count()).toBe(0);
    // The click's trace shows its subs as text too.
    await page.goto(`${tracker.url}/dashboard/?view=trace&click=${hostileClick}`);
    await page.waitForSelector('#trace-click');
    expect(await page.locator('#trace-click').textContent()).toContain(XSS);
    expect(await page.locator('img').count()).toBe(0);
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('shows a postback just sent in the live log, and its click trace', async () => {
    await page.goto(`${tracker.url}/dashboard/?view=live`);
    await page.waitForSelector('#inbound tbody tr');
    const cid = await click('demo', 'sub1=live');
    expect(await postback(`clickid=${cid}&type=payment&sum=12.34&currency=EUR&txid=LIVE-1`)).toBe(200);
    // The log refreshes itself every 5 s.
    await page.locator('#inbound tbody tr', { hasText: 'LIVE-1' }).waitFor({ timeout: 12_000 });
    const row = page.locator('#inbound tbody tr', { hasText: 'LIVE-1' });
    expect(await row.textContent()).toContain('12.34 EUR');
    await shot('3-live-log');
    await row.locator('a', { hasText: cid }).click();
    await page.waitForSelector('#trace-click');
    expect(new URL(page.url()).searchParams.get('click')).toBe(cid);
    expect(await page.locator('#trace-click').textContent()).toContain('live');
    await shot('4-trace');
  });

  it('shows the dead-letter queue by reason with what to do, and the setup URLs with the key', async () => {
    await page.goto(`${tracker.url}/dashboard/?view=dlq`);
    await page.waitForSelector('#dlq tbody tr');
    const text = await page.locator('#dlq tbody').textContent();
    expect(text).toContain('unknown_type');
    expect(text).toMatch(/add it to conversionTypes/);
    await shot('5-dead-letters');
    await page.goto(`${tracker.url}/dashboard/?view=setup`);
    await page.waitForSelector('#url-affiliate');
    expect(await page.textContent('#url-affiliate')).toBe(`${tracker.url}/postback?clickid={cid}&sum={amount_affiliate}&currency={currency}&txid={transaction_id}&key=${key}&type=`);
    expect(await page.textContent('#url-pixel')).not.toContain('key=');
    // The lander script: for campaigns with landers, and (corsOrigins is set) for the others too.
    expect(await page.textContent('#script-funnel')).toBe(`<script src="${tracker.url}/t.js" data-campaign="funnel" async></script>`);
    expect(await page.locator('.copy', { has: page.locator('#script-funnel') }).textContent()).toContain(FUNNEL_LANDERS.bridge);
    expect(await page.textContent('#script-demo')).toBe(`<script src="${tracker.url}/t.js" data-campaign="demo" async></script>`);
    expect(await page.textContent('#url-go')).toBe(`${tracker.url}/go?clickid=`);
    await shot('6-setup');
  });
});
