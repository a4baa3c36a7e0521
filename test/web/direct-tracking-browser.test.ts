/**
 * Direct tracking in a real browser: Debian's headless Chromium loads a lander page served by
 * this test with t.js from the local tracker (another origin, so CORS is real), the way a
 * visitor's browser would. Chromium's own user agent says "HeadlessChrome", which bot detection
 * flags, so it is started with a desktop browser's user agent. Without chromium the suite is
 * reported skipped and says so.
 *
 * - a direct visit creates exactly one click and decorates the Digistore24 link (cid) and the
 *   /go link (clickid) with it;
 * - a visit arriving through /click reuses the click id in its URL, wherever the lander's URL
 *   template put it (clickid=, a parameter of its own, a path segment);
 * - a reload (same browser profile, so the same cookies) makes no new click;
 * - with data-consent="required" nothing happens until the page calls consent(true).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '../../config/schema';
import { createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { startLocalTracker, type LocalTracker } from '../../lambda/local/server';
import { DESKTOP_UA } from '../support/browser';
import { testConfig } from '../support/config';
import { scanAll } from '../support/dynamo';

const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  // eslint-disable-next-line no-console
  console.warn(`t.js browser test NOT RUN: no chromium at ${CHROMIUM} (.ci/run installs Debian's chromium).`);
}
const suite = available ? describe : describe.skip;

let lander: Server;
let landerOrigin: string;
let tracker: LocalTracker;

/** The lander page: t.js, a Digistore24 promo link, a /go link, and a report of what the script did. */
function page(consent: 'none' | 'required' | 'granted'): string {
  const tag = `<script src="${tracker.url}/t.js" data-campaign="funnel"${consent === 'none' ? '' : ' data-consent="required"'} async></script>`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Lander</title>${tag}</head>
<body>
<h1>Bridge page</h1>
<a id="ds24" href="https://www.digistore24.com/redir/123456/aff/CAMPAIGNKEY">Buy on Digistore24</a>
<a id="go" href="${tracker.url}/go?offer=ds24">Continue</a>
<a id="other" href="https://example.org/about">About</a>
<script>
  addEventListener('clickvault:clickid', function (e) { document.body.setAttribute('data-event', e.detail); });
  ${consent === 'granted' ? "setTimeout(function () { window.clickvault.consent(true); }, 500);" : ''}
  setTimeout(function () {
    document.body.setAttribute('data-clickid', String(window.clickvault && window.clickvault.clickid));
    document.body.setAttribute('data-cookie', document.cookie);
    document.body.setAttribute('data-done', '1');
  }, 2500);
</script>
</body></html>
`;
}

beforeAll(async () => {
  lander = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const consent = url.pathname === '/consent' ? (url.searchParams.get('grant') === '1' ? 'granted' : 'required') : 'none';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page(consent));
  });
  await new Promise<void>((resolve) => lander.listen(0, '127.0.0.1', resolve));
  landerOrigin = `http://127.0.0.1:${(lander.address() as AddressInfo).port}`;
  // A config this test makes: the lander on this test's own server (its origin may call the JSON click).
  const base = testConfig();
  const config = parseConfig({
    ...base,
    landers: [
      { id: 'bridge', name: 'Bridge', url: `${landerOrigin}/lander?clickid={clickid}&s1={sub1}` },
      // Landers that carry the click id their own way: in a path segment, in a parameter of their own.
      { id: 'path', name: 'Path', url: `${landerOrigin}/p/{clickid}/bridge` },
      { id: 'subid', name: 'Subid', url: `${landerOrigin}/sub?subid={clickid}` },
    ],
    campaigns: [
      ...base.campaigns,
      { id: 'funnel', name: 'Funnel', trafficChannel: 'facebook', offers: [{ offer: 'ds24' }], landers: [{ lander: 'bridge' }] },
      { id: 'funnel-path', name: 'Funnel (path)', trafficChannel: 'facebook', offers: [{ offer: 'ds24' }], landers: [{ lander: 'path' }] },
      { id: 'funnel-subid', name: 'Funnel (subid)', trafficChannel: 'facebook', offers: [{ offer: 'ds24' }], landers: [{ lander: 'subid' }] },
    ],
  });
  tracker = await startLocalTracker({ config, dataDir: mkdtempSync(join(tmpdir(), 'cv-tjs-')), port: 0, dynamoPort: 0, inMemory: true });
}, 60_000);

afterAll(async () => {
  await tracker?.close();
  await new Promise<void>((resolve) => (lander ? lander.close(() => resolve()) : resolve()));
});

/** Loads `url` in headless Chromium with `profile` (cookies persist between loads of one profile) and returns the DOM. */
async function visit(url: string, profile: string): Promise<string> {
  const { stdout } = await run(
    CHROMIUM,
    [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--window-size=1280,900',
      `--user-agent=${DESKTOP_UA}`, '--virtual-time-budget=8000', '--dump-dom', url,
    ],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

const attr = (dom: string, name: string) => new RegExp(`<body[^>]*\\s${name}="([^"]*)"`).exec(dom)?.[1];
const href = (dom: string, id: string) => (new RegExp(`<a id="${id}" href="([^"]*)"`).exec(dom)?.[1] ?? '').replace(/&amp;/g, '&');
const clicks = async () => scanAll(createDynamoClient(tracker.dynamo.endpoint), tracker.tables.clicks);
const newProfile = () => mkdtempSync(join(tmpdir(), 'cv-chromium-'));

suite('t.js in headless Chromium', () => {
  it('a direct visit creates exactly one click, decorates the Digistore24 and /go links, and a reload makes no new click', async () => {
    const before = (await clicks()).length;
    const profile = newProfile();
    const url = `${landerOrigin}/lander?sub1=adset-9&fbclid=FB-DIRECT`;
    const dom = await visit(url, profile);
    expect(attr(dom, 'data-done')).toBe('1');
    const clickId = attr(dom, 'data-clickid') ?? '';
    expect(clickId).toMatch(/^[0-9A-HJKMNP-TV-Z]{30}$/);
    expect(attr(dom, 'data-event')).toBe(clickId);
    expect(href(dom, 'ds24')).toBe(`https://www.digistore24.com/redir/123456/aff/CAMPAIGNKEY?cid=${clickId}`);
    expect(href(dom, 'go')).toBe(`${tracker.url}/go?offer=ds24&clickid=${clickId}`);
    expect(href(dom, 'other')).toBe('https://example.org/about');
    expect(attr(dom, 'data-cookie')).toMatch(new RegExp(`(^|; )cv_funnel=${clickId}\\.`));

    const after = await clicks();
    expect(after.length - before).toBe(1);
    expect(after.find((c) => c.clickId === clickId)).toMatchObject({
      campaignId: 'funnel',
      landerId: 'bridge',
      page: `${landerOrigin}/lander`,
      sub1: 'adset-9',
      channelClickId: 'FB-DIRECT',
      userAgent: DESKTOP_UA,
    });
    expect(after.find((c) => c.clickId === clickId)?.bot).toBeUndefined();

    // Reload: the same page in the same browser.
    const reload = await visit(url, profile);
    expect(attr(reload, 'data-clickid')).toBe(clickId);
    expect(href(reload, 'ds24')).toBe(`https://www.digistore24.com/redir/123456/aff/CAMPAIGNKEY?cid=${clickId}`);
    expect((await clicks()).length - before).toBe(1);
  }, 120_000);

  it('a visit arriving through /click reuses the click id in its URL: one click, the same id on the links', async () => {
    const before = (await clicks()).length;
    const dom = await visit(`${tracker.url}/click/funnel?sub1=from-ad`, newProfile());
    const clickId = attr(dom, 'data-clickid') ?? '';
    expect(clickId).toMatch(/^[0-9A-HJKMNP-TV-Z]{30}$/);
    expect(href(dom, 'ds24')).toBe(`https://www.digistore24.com/redir/123456/aff/CAMPAIGNKEY?cid=${clickId}`);
    expect(href(dom, 'go')).toBe(`${tracker.url}/go?offer=ds24&clickid=${clickId}`);
    const after = await clicks();
    expect(after.length - before).toBe(1);
    expect(after.find((c) => c.clickId === clickId)).toMatchObject({ campaignId: 'funnel', landerId: 'bridge', sub1: 'from-ad' });
  }, 120_000);

  it.each(['funnel-path', 'funnel-subid'])('a visit through /click to a lander that carries the id its own way (%s) reuses it: one click', async (campaign) => {
    const before = (await clicks()).length;
    const dom = await visit(`${tracker.url}/click/${campaign}?sub1=from-ad`, newProfile());
    const clickId = attr(dom, 'data-clickid') ?? '';
    expect(clickId).toMatch(/^[0-9A-HJKMNP-TV-Z]{30}$/);
    expect(href(dom, 'ds24')).toBe(`https://www.digistore24.com/redir/123456/aff/CAMPAIGNKEY?cid=${clickId}`);
    const after = await clicks();
    expect(after.length - before).toBe(1);
    expect(after.find((c) => c.clickId === clickId)).toMatchObject({ campaignId: campaign, sub1: 'from-ad' });
  }, 120_000);

  it('with consent required, sets no cookie and makes no click until the page calls consent(true)', async () => {
    const before = (await clicks()).length;
    const waiting = await visit(`${landerOrigin}/consent?sub1=eu`, newProfile());
    expect(attr(waiting, 'data-done')).toBe('1');
    expect(attr(waiting, 'data-clickid')).toBe('undefined');
    expect(attr(waiting, 'data-cookie')).toBe('');
    expect(href(waiting, 'ds24')).toBe('https://www.digistore24.com/redir/123456/aff/CAMPAIGNKEY');
    expect(href(waiting, 'go')).toBe(`${tracker.url}/go?offer=ds24`);
    expect((await clicks()).length).toBe(before);

    const granted = await visit(`${landerOrigin}/consent?sub1=eu&grant=1`, newProfile());
    const clickId = attr(granted, 'data-clickid') ?? '';
    expect(clickId).toMatch(/^[0-9A-HJKMNP-TV-Z]{30}$/);
    expect(attr(granted, 'data-cookie')).toMatch(/^cv_funnel=/);
    expect(href(granted, 'ds24')).toBe(`https://www.digistore24.com/redir/123456/aff/CAMPAIGNKEY?cid=${clickId}`);
    expect((await clicks()).length - before).toBe(1);
  }, 120_000);
});
