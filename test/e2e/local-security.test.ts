/**
 * The local tracker as an attacker meets it (issue 10): `npm start` prints the S2S URLs with the
 * generated key and warns when running unprotected; CloudFront-Viewer-* headers are ignored
 * unless trusted; what a request stored is printed harmlessly by the CLIs.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../config/load';
import { createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { startLocalTracker } from '../../lambda/local/server';
import { scanAll } from '../support/dynamo';
import { DESKTOP_UA } from '../support/browser';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
// eslint-disable-next-line no-control-regex
const ACTIVE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { DYNAMODB_ENDPOINT: _testDynamo, ...inherited } = process.env;
  return { ...inherited, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...extra };
}

/** Runs `npm start` (scripts/start.ts) until its banner is printed, then stops it. */
async function banner(env: Record<string, string>): Promise<string> {
  const child = spawn(TSX, [join(ROOT, 'scripts/start.ts')], { cwd: ROOT, env: cliEnv({ PORT: '0', DYNAMODB_PORT: '0', ...env }), stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start printed no banner:\n${err}`)), 45_000);
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        if (err.includes('Stop: Ctrl-C')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${err}`)));
    });
  } finally {
    child.kill('SIGTERM');
  }
  return err;
}

describe('npm start', () => {
  it('prints both S2S URLs with the generated key, the pixel without it, and no warning', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cv-start-'));
    const out = await banner({ TRACKER_DATA_DIR: dataDir });
    const key = (await run(TSX, ['scripts/urls.ts', '--local', '--json'], { cwd: ROOT, env: cliEnv({ TRACKER_DATA_DIR: dataDir }) })).stdout;
    const { affiliateS2S = '', vendorS2S, pixel } = JSON.parse(key) as Record<string, string>;
    const theKey = new URL(affiliateS2S.replace(/\{|\}/g, '')).searchParams.get('key') ?? '';
    expect(theKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(out).toMatch(/sum=\{amount_affiliate\}&currency=\{currency\}&txid=\{transaction_id\}&key=[A-Za-z0-9_-]{43}&type=\n/);
    expect(out).toMatch(/sum=\{amount_netto\}&currency=\{currency\}&txid=\{transaction_id\}&key=[A-Za-z0-9_-]{43}&type=\n/);
    expect(out).toContain(`key=${theKey}&type=`);
    expect(out).toContain('/postback?format=img&clickid=__cid__&type=InitiateCheckout\n');
    expect(out).toContain('postback key:  ');
    expect(out).not.toContain('WARNING');
    expect(vendorS2S).toContain(`key=${theKey}&type=`);
    expect(pixel).not.toContain('key=');
  }, 90_000);

  it('warns when postbacks are unprotected on purpose, and prints the URLs without a key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-start-open-'));
    const config = join(dir, 'open.json');
    writeFileSync(config, JSON.stringify({ ...loadConfig(), postbackProtection: { required: false, acknowledgeUnprotected: true } }));
    const out = await banner({ TRACKER_DATA_DIR: dir, TRACKER_CONFIG: config });
    expect(out).toMatch(/WARNING: postbacks are NOT protected/);
    expect(out).toContain('sum={amount_affiliate}&currency={currency}&txid={transaction_id}&type=\n');
    expect(out).not.toContain('key=');
  }, 90_000);

  it('refuses a config without postbackProtection, saying why and how', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-start-none-'));
    const config = join(dir, 'none.json');
    const { postbackProtection: _p, ...rest } = loadConfig();
    writeFileSync(config, JSON.stringify(rest));
    const failed = await run(TSX, [join(ROOT, 'scripts/start.ts')], { cwd: ROOT, env: cliEnv({ TRACKER_DATA_DIR: dir, TRACKER_CONFIG: config, PORT: '0', DYNAMODB_PORT: '0' }) }).catch((err: { code: number; stderr: string }) => err);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining('postbackProtection: is required: without it anyone who learns the postback URL can record fake sales') });
  }, 60_000);
});

describe('the local server and its CLIs', () => {
  it('ignores CloudFront-Viewer-* headers unless TRUST_CLOUDFRONT_HEADERS=1', async () => {
    const clickWith = async (trust: boolean) => {
      const tracker = await startLocalTracker({ config: loadConfig(), dataDir: mkdtempSync(join(tmpdir(), 'cv-hdr-')), port: 0, dynamoPort: 0, inMemory: true, env: trust ? { TRUST_CLOUDFRONT_HEADERS: '1' } : {} });
      try {
        await fetch(`${tracker.url}/click/demo`, { redirect: 'manual', headers: { 'user-agent': DESKTOP_UA, 'CloudFront-Viewer-Country': 'AT', 'CloudFront-Viewer-Address': '203.0.113.9:443' } });
        const [click] = await scanAll(createDynamoClient(tracker.dynamo.endpoint), tracker.tables.clicks);
        return { country: click?.country, ip: click?.ip };
      } finally {
        await tracker.close();
      }
    };
    expect(await clickWith(false)).toEqual({ country: undefined, ip: '127.0.0.0' });
    expect(await clickWith(true)).toEqual({ country: 'AT', ip: '203.0.113.0' });
  });

  it('prints what hostile requests stored harmlessly: trace, dlq and report', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cv-cli-'));
    const tracker = await startLocalTracker({ config: loadConfig(), dataDir, port: 0, dynamoPort: 0 });
    try {
      const key = tracker.postbackKey?.key ?? '';
      // C1 CSI / OSC and a right-to-left override in subs (the click strips C0 itself) ...
      const hostileSub = encodeURIComponent('\u009b2J\u009d0;owned\u009c\u202eexe.txt');
      const location = (await fetch(`${tracker.url}/click/demo?sub1=${hostileSub}&fbclid=${hostileSub}`, { redirect: 'manual', headers: { 'user-agent': DESKTOP_UA } })).headers.get('location') ?? '';
      const cid = new URL(location).searchParams.get('cid') ?? '';
      // ... and raw ESC sequences in a queued request's body.
      await fetch(`${tracker.url}/postback?key=${key}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: `clickid=${cid}&type=Nope&note=\u001b[2J\u001b]0;owned\u0007\u009b31m` });
      const env = cliEnv({ TRACKER_DATA_DIR: dataDir, DYNAMODB_PORT: String(tracker.dynamo.port) });
      const outputs = await Promise.all([
        run(TSX, ['scripts/trace.ts', cid, '--local'], { cwd: ROOT, env }),
        run(TSX, ['scripts/trace.ts', cid, '--local', '--json'], { cwd: ROOT, env }),
        run(TSX, ['scripts/dlq.ts', '--local'], { cwd: ROOT, env }),
        run(TSX, ['scripts/dlq.ts', '--local', '--json'], { cwd: ROOT, env }),
        run(TSX, ['scripts/report.ts', '--local', '--by', 'sub1'], { cwd: ROOT, env }),
        run(TSX, ['scripts/report.ts', '--local', '--by', 'sub1', '--json'], { cwd: ROOT, env }),
      ]);
      for (const { stdout } of outputs) expect(stdout).not.toMatch(ACTIVE);
      expect(outputs[0]?.stdout).toContain('sub1=\\x9b2J\\x9d0;owned\\x9c\\u202eexe.txt');
      // JSON stays JSON, with the same values.
      const traced = JSON.parse(outputs[1]?.stdout ?? '') as { click: { subs: { sub1: string } } };
      expect(traced.click.subs.sub1).toBe('\u009b2J\u009d0;owned\u009c\u202eexe.txt');
      const [queued] = JSON.parse(outputs[3]?.stdout ?? '') as { request: { body: string } }[];
      expect(queued?.request.body).toContain('\u001b]0;owned\u0007');
      expect(queued?.request.body).not.toContain(key);
    } finally {
      await tracker.close();
    }
  }, 90_000);
});
