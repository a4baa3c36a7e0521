/**
 * The conversion APIs as `npm start` runs them, over real HTTP: a click and a sale reach Meta and
 * TikTok stand-ins within seconds (the in-process send queue, never inside the postback), Google
 * Ads through `npm run sweep -- --local`, and `npm run trace` shows what was sent and the answer —
 * never a token, never the address.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig, type TrackerConfig } from '../../config/schema';
import { digistore24ConversionTypes } from '../../config/digistore24';
import { startLocalTracker, type LocalTracker } from '../../lambda/local/server';
import { PlatformStandIns, STAND_IN_ENV, TOKENS, standInChannels } from '../support/platform-stand-ins';
import { DESKTOP_UA } from '../support/browser';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');
let standIns: PlatformStandIns;
let tracker: LocalTracker;
let dataDir: string;
let config: TrackerConfig;

beforeAll(async () => {
  standIns = await new PlatformStandIns().start();
  config = parseConfig({
    trafficChannels: standInChannels(standIns.url),
    offers: [{ id: 'ds24', name: 'DS24', source: 'digistore24', url: 'https://www.digistore24.com/redir/123456/aff/?cid={clickid}' }],
    campaigns: [
      { id: 'fb', name: 'FB', trafficChannel: 'meta', offers: [{ offer: 'ds24' }] },
      { id: 'tt', name: 'TT', trafficChannel: 'tiktok', offers: [{ offer: 'ds24' }] },
      { id: 'gg', name: 'GG', trafficChannel: 'google', offers: [{ offer: 'ds24' }] },
    ],
    conversionTypes: digistore24ConversionTypes.map((t) =>
      t.name === 'payment' ? { ...t, platformEvents: { meta: 'Purchase', tiktok: 'CompletePayment', 'google-ads': 'customers/1234567890/conversionActions/7' } } : t,
    ),
    postbackProtection: { sources: [{ id: 'digistore24', keys: [{ generated: true }] }] },
  });
  dataDir = mkdtempSync(join(tmpdir(), 'cv-capi-e2e-'));
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify(config));
  // Retries at once (the shipped ones wait 30 s, 2, 10 and 15 minutes): two, then the dead-letter queue.
  tracker = await startLocalTracker({ config, dataDir, port: 0, dynamoPort: 0, env: STAND_IN_ENV, sendRetryDelaysSeconds: [0, 0] });
}, 60_000);

afterAll(async () => {
  await tracker?.close();
  await standIns?.close();
});

const http = (path: string) => fetch(`${tracker.url}${path}`, { redirect: 'manual', headers: { 'user-agent': DESKTOP_UA } });

async function click(campaign: string, query: string): Promise<string> {
  const response = await http(`/click/${campaign}?${query}`);
  expect(response.status).toBe(302);
  return new URL(response.headers.get('location') ?? '').searchParams.get('cid') ?? '';
}

async function sale(cid: string, txid: string): Promise<void> {
  const response = await http(`/postback?clickid=${cid}&type=payment&sum=49.00&currency=EUR&txid=${txid}&key=${tracker.postbackKey?.key ?? ''}`);
  expect(await response.text()).toBe('OK\n');
}

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

function cli(script: string, ...args: string[]) {
  const { DYNAMODB_ENDPOINT: _unused, ...inherited } = process.env;
  const env = { ...inherited, ...STAND_IN_ENV, DYNAMODB_PORT: String(tracker.dynamo.port), TRACKER_DATA_DIR: dataDir, TRACKER_CONFIG: join(dataDir, 'config.json'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  return run(join(ROOT, 'node_modules/.bin/tsx'), [script, ...args], { env, cwd: ROOT });
}

describe('npm start with conversion APIs', () => {
  it('sends a Meta and a TikTok sale within seconds of the postback, each once', async () => {
    const fb = await click('fb', 'fbclid=E2E_fbclid');
    const tt = await click('tt', 'ttclid=E2E_ttclid');
    const started = Date.now();
    await sale(fb, 'M1');
    await sale(tt, 'T1');
    await until(() => standIns.of('meta').length === 1 && standIns.of('tiktok').length === 1);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(standIns.violations).toEqual([]);
    expect(await (await http(`/postback?clickid=${fb}&type=payment&sum=49.00&currency=EUR&txid=M1&key=${tracker.postbackKey?.key ?? ''}`)).text()).toMatch(/^OK duplicate/);
    await new Promise((r) => setTimeout(r, 500));
    expect(standIns.of('meta')).toHaveLength(1);
  });

  it('uploads Google Ads conversions with npm run sweep -- --local --min-click-age 0, and trace tells the story', async () => {
    const gg = await click('gg', 'gclid=E2E-gclid');
    await sale(gg, 'G1');
    const early = await cli('scripts/sweep.ts', '--local');
    expect(early.stdout).toContain('Nothing was due.');
    expect(standIns.of('google-ads')).toHaveLength(0);

    const { stdout } = await cli('scripts/sweep.ts', '--local', '--min-click-age', '0');
    expect(stdout).toContain('google-ads: sent 1');
    expect(stdout).toMatch(/Finding them read \d+ index item\(s\) in \d+ query\(ies\)/);
    expect(standIns.of('google-ads')).toHaveLength(1);
    expect(standIns.violations).toEqual([]);

    const trace = (await cli('scripts/trace.ts', gg, '--local')).stdout;
    expect(trace).toContain('-> google-ads: sent');
    expect(trace).toContain('"orderId":"G1"');
    expect(trace).toContain('answer: HTTP 200: uploaded, jobId 123456');

    const fb = await click('fb', 'fbclid=E2E_trace');
    await sale(fb, 'M2');
    await until(() => standIns.of('meta').length === 2);
    await new Promise((r) => setTimeout(r, 300));
    const json = (await cli('scripts/trace.ts', fb, '--local', '--json')).stdout;
    expect(json).toContain('"forwardTo": "meta"');
    expect(json).toContain('events_received 1');
    // Tokens never; the visitor's address (loopback here) never as a value: only that it was sent.
    for (const secret of [TOKENS.meta, TOKENS.googleRefresh, '"127.0.0.1"']) expect(json).not.toContain(secret);
    expect(json).toContain('client_ip_address');
    expect(json).not.toContain('sealedIp');
  }, 120_000);

  it('Meta down: retries run out, the sale waits in the dead-letter queue; once Meta is back, npm run redrive -- --local sends it once', async () => {
    const down = { status: 503, body: { error: { message: 'Service temporarily unavailable', type: 'OAuthException', code: 2, is_transient: true, fbtrace_id: 'D' } } };
    for (let i = 0; i < 3; i++) standIns.next.meta.push(down);
    const before = standIns.of('meta').length;
    const fb = await click('fb', 'fbclid=E2E_outage');
    await sale(fb, 'OUT1');
    await until(() => standIns.of('meta').length === before + 3, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const waiting = JSON.parse((await cli('scripts/dlq.ts', '--local', '--json')).stdout) as { kind: string; forward?: { platform?: string; clickId: string } }[];
    expect(waiting.filter((m) => m.kind === 'forward' && m.forward?.clickId === fb)).toEqual([expect.objectContaining({ forward: expect.objectContaining({ platform: 'meta' }) })]);
    expect(JSON.stringify(waiting)).not.toContain(TOKENS.meta);

    const redrive = await cli('scripts/redrive.ts', '--local');
    expect(redrive.stdout).toContain('sent to meta');
    expect(standIns.of('meta')).toHaveLength(before + 4);
    expect(standIns.violations).toEqual([]);
    const ids = standIns.of('meta').slice(before).map((r) => ((r.body as { data: { event_id: string }[] }).data[0] ?? { event_id: '' }).event_id);
    expect(new Set(ids)).toEqual(new Set([`${fb}:OUT1`]));
    // Nothing left to send: a second redrive sends nothing.
    await cli('scripts/redrive.ts', '--local');
    expect(standIns.of('meta')).toHaveLength(before + 4);
    expect((await cli('scripts/trace.ts', fb, '--local')).stdout).toMatch(/-> meta: sent .*2 earlier attempt\(s\)/);
  }, 120_000);

  it('refuses a bad --min-click-age, naming it', async () => {
    await expect(cli('scripts/sweep.ts', '--local', '--min-click-age', 'soon')).rejects.toMatchObject({ stderr: expect.stringContaining('--min-click-age takes a number with a unit') });
  }, 60_000);
});
