/**
 * The silent-breakage warning in a real browser (headless Chromium) against `npm start`'s
 * server: a campaign with clicks and no sale shows a warning above the campaign table and its
 * row is marked; a campaign whose sale arrived shows none; once a sale arrives for the silent
 * one, its warning is gone on the next load. A screenshot is written like the dashboard test's.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseConfig } from '../../config/schema';
import { startLocalTracker, type LocalTracker } from '../../lambda/local/server';
import { buildDashboard } from '../../lib/dashboard-build';
import { DESKTOP_UA } from '../support/browser';
import { testConfig } from '../support/config';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  // eslint-disable-next-line no-console
  console.warn(`Silence browser test NOT RUN: no chromium at ${CHROMIUM}.`);
}
const suite = available ? describe : describe.skip;

let tracker: LocalTracker;
let browser: Browser;
let page: Page;
let key: string;
let shots: string;
const splitClicks: string[] = [];
const pageErrors: string[] = [];

async function click(campaign: string): Promise<string> {
  const response = await fetch(`${tracker.url}/click/${campaign}`, { redirect: 'manual', headers: { 'user-agent': DESKTOP_UA } });
  expect(response.status).toBe(302);
  const url = new URL(response.headers.get('location') ?? '');
  return url.searchParams.get('cid') ?? url.searchParams.get('c') ?? '';
}

async function postback(query: string): Promise<number> {
  return (await fetch(`${tracker.url}/postback?${query}&key=${key}`)).status;
}

async function openTable(): Promise<void> {
  await page.goto(`${tracker.url}/dashboard/?view=report&range=today&tz=UTC`);
  await page.waitForSelector('#report[aria-busy="false"] tbody tr');
}

jest.setTimeout(180_000);

suite('silent campaign warning in headless Chromium', () => {
  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cv-silence-'));
    const base = testConfig();
    // Both campaigns alarm at 3 clicks in 6 hours.
    const config = parseConfig({ ...base, defaults: { ...base.defaults, silenceAlarm: { hours: 6, minClicks: 3 } } });
    const built = buildDashboard(join(dataDir, 'dist'));
    tracker = await startLocalTracker({ config, dataDir, port: 0, dynamoPort: 0, inMemory: true, archiveEveryMs: 0, rollupEveryMs: 0, silenceEveryMs: 0, dashboardDir: built.dir });
    key = tracker.postbackKey?.key ?? '';
    shots = process.env.DASHBOARD_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'cv-dashboard-shots-'));
    mkdirSync(shots, { recursive: true });
    // demo: 3 clicks and a sale (healthy). split: 4 clicks, no sale (silent).
    const demo = [await click('demo'), await click('demo'), await click('demo')];
    expect(await postback(`clickid=${demo[0]}&type=payment&sum=49.90&currency=EUR&txid=T-1`)).toBe(200);
    for (let i = 0; i < 4; i++) splitClicks.push(await click('split'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await tracker?.close();
  });

  it('warns about the silent campaign above the table, and not about the healthy one', async () => {
    await openTable();
    await page.waitForSelector('section[data-silence-checked]');
    await page.waitForSelector('#silence p[data-campaign]');
    const warnings = await page.$$eval('#silence p[data-campaign]', (ps) => ps.map((p) => [p.getAttribute('data-campaign'), p.textContent ?? '']));
    expect(warnings).toEqual([['split', expect.stringMatching(/^No sale arriving: split: 4 clicks, no postback for 6 h — check the Digistore24 postback URL/)]]);
    await expect(page.getAttribute('#silence', 'role')).resolves.toBe('alert');
    // The campaign table marks the silent campaign's row, and only it.
    const marked = await page.$$eval('#report tbody tr.silent th', (ths) => ths.map((th) => (th.textContent ?? '').trim()));
    expect(marked).toEqual(['split']);
    await page.screenshot({ path: join(shots, 'silence-warning.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('the warning is gone once a sale arrives for the campaign', async () => {
    expect(await postback(`clickid=${splitClicks[1]}&type=payment&sum=19.00&currency=EUR&txid=T-2`)).toBe(200);
    await openTable();
    // The page has the check's answer (it says when the check ran), and no warning.
    await page.waitForSelector('section[data-silence-checked]');
    expect(await page.$('#silence')).toBeNull();
    expect(await page.$('#silence-error')).toBeNull();
    expect(await page.$$('#report tbody tr.silent')).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
