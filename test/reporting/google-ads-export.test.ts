/**
 * `npm run export -- --google-ads` against a known data set, through the CLI as a user runs it:
 * clicks and sales made by the real handlers (clocks set to known instants around the 2026 DST
 * switch in Europe/Berlin), read back as `--local` does.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '../../config/schema';
import { digistore24ConversionTypes } from '../../config/digistore24';
import { syncCatalog } from '../../lambda/adapters/catalog';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { googleAdsCsv, importTime, selectExportRows } from '../../lambda/core/google-ads-export';
import type { DeadLetterSink } from '../../lambda/core/model';
import { compileConfig } from '../../lambda/core/tracker-config';
import { createClickHandler } from '../../lambda/handlers/click';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import { conversionDeps } from '../../lambda/handlers/runtime';
import { logger } from '../../lambda/logger';
import { startDynalite, type EmbeddedDynamo } from '../../lambda/local/dynalite';
import { ensureTables, localTableNames } from '../../lambda/local/tables';
import { UNPROTECTED } from '../support/config';
import { httpEvent } from '../support/events';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');

// An export-only setup (no API credentials): Google clicks carry gclid, gbraid or wbraid, and the
// sale is mapped to the conversion action's name as Google Ads shows it.
const config = parseConfig({
  trafficChannels: [
    { id: 'google', name: 'Google', clickIdParam: ['gclid', 'gbraid', 'wbraid'] },
    { id: 'google-old', name: 'Google (gclid only)', clickIdParam: 'gclid' },
    { id: 'facebook', name: 'Facebook', clickIdParam: 'fbclid' },
  ],
  offers: [{ id: 'ds24', name: 'DS24', source: 'digistore24', url: 'https://www.digistore24.com/redir/1/aff/?cid={clickid}' }],
  campaigns: [
    { id: 'gg', name: 'GG', trafficChannel: 'google', offers: [{ offer: 'ds24' }] },
    { id: 'gold', name: 'G old', trafficChannel: 'google-old', offers: [{ offer: 'ds24' }] },
    { id: 'fb', name: 'FB', trafficChannel: 'facebook', offers: [{ offer: 'ds24' }] },
  ],
  conversionTypes: digistore24ConversionTypes.map((t) => (t.name === 'payment' ? { ...t, platformEvents: { 'google-ads': 'Digistore24 sale' } } : t)),
  postbackProtection: UNPROTECTED,
});

let dynamo: EmbeddedDynamo;
let dir: string;

beforeAll(async () => {
  dynamo = await startDynalite({ port: 0 });
  const client = createDynamoClient(dynamo.endpoint);
  const tables = localTableNames();
  await ensureTables(client, tables);
  await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
  await syncCatalog(client, tables.catalog, { campaigns: config.campaigns, clickRetentionDays: 90 }, new Date('2026-03-01T00:00:00Z'));
  const sink: DeadLetterSink = { send: async (m) => ({ status: 'queued', messageId: m.id }) };
  const clicks = new DynamoClickStore(client, tables.clicks);
  let now = new Date();
  const click = async (at: string, campaign: string, query: string) => {
    now = new Date(at);
    const r = await createClickHandler({ config: compileConfig(config), clicks, deadLetters: () => sink, log: logger }, { now: () => now })(
      httpEvent({ path: `/click/${campaign}`, query, pathParameters: { campaignId: campaign } }),
    );
    return new URL(String(r.headers?.location)).searchParams.get('cid') ?? '';
  };
  const deps = conversionDeps(config, { clicks, conversions: new DynamoConversionStore(client, tables.conversions), types: new DynamoConversionTypes(client, tables.conversionTypes, 0) }, () => sink);
  const sale = async (at: string, query: string) => {
    now = new Date(at);
    const r = await createPostbackHandler(deps, { now: () => now })(httpEvent({ path: '/postback', query }));
    if (r.statusCode !== 200) throw new Error(`postback ${query}: ${r.statusCode} ${r.body}`);
  };

  const a = await click('2026-03-27T20:00:00Z', 'gg', 'gclid=GCLID-A');
  await sale('2026-03-27T23:30:00Z', `clickid=${a}&type=payment&sum=47.00&currency=EUR&txid=A1`); // 00:30 CET on 03-28: in
  await sale('2026-03-29T09:00:00Z', `clickid=${a}&type=refund&sum=47.00&currency=EUR&txid=A1R`); // refunds are not imported
  await sale('2026-03-29T09:05:00Z', `clickid=${a}&type=upsell&sum=0&currency=EUR&txid=A1`); // no Google Ads mapping
  const b = await click('2026-03-28T18:00:00Z', 'gold', 'gclid=GCLID-B_q');
  await sale('2026-03-29T01:15:00Z', `clickid=${b}&type=payment&sum=19.9&currency=USD&txid=B1`); // 03:15 CEST, after the switch
  const c = await click('2026-03-28T10:00:00Z', 'gg', 'gbraid=GBRAID-C');
  await sale('2026-03-28T11:00:00Z', `clickid=${c}&type=payment&sum=10&currency=EUR&txid=C1`); // gbraid: not in the file
  const d = await click('2026-03-29T20:00:00Z', 'gg', 'gclid=GCLID-D');
  await sale('2026-03-29T22:30:00Z', `clickid=${d}&type=payment&sum=5&currency=EUR&txid=D1`); // 00:30 CEST on 03-30: out
  const e = await click('2026-03-28T12:00:00Z', 'fb', 'fbclid=FB-E');
  await sale('2026-03-28T13:00:00Z', `clickid=${e}&type=payment&sum=99&currency=EUR&txid=E1`); // not a Google click
  const f = await click('2026-03-28T12:30:00Z', 'gg', '');
  await sale('2026-03-28T14:00:00Z', `clickid=${f}&type=payment&sum=7&currency=EUR&txid=F1`); // no click id at all
  await sale('2026-03-28T15:00:00Z', 'type=payment&sum=3&currency=EUR&txid=ORGANIC');
  const g = await click('2026-03-28T16:00:00Z', 'gold', 'gclid=%3DHYPERLINK(%22x%22)');
  await sale('2026-03-28T16:30:00Z', `clickid=${g}&type=payment&sum=1&currency=EUR&txid=G1`); // not a gclid: never written
  client.destroy();

  dir = mkdtempSync(join(tmpdir(), 'cv-export-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
}, 60_000);

afterAll(async () => {
  await dynamo?.close();
});

async function exportCsv(...args: string[]) {
  const { DYNAMODB_ENDPOINT: _unused, ...inherited } = process.env;
  const env = { ...inherited, DYNAMODB_PORT: String(dynamo.port), TRACKER_DATA_DIR: dir, TRACKER_CONFIG: join(dir, 'config.json'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  return run(join(ROOT, 'node_modules/.bin/tsx'), ['scripts/export.ts', '--google-ads', '--local', ...args], { env, cwd: ROOT });
}

describe('npm run export -- --google-ads', () => {
  it("writes Google's import file for every gclid conversion in the range, times in the zone's local time", async () => {
    const { stdout, stderr } = await exportCsv('--from', '2026-03-28', '--to', '2026-03-29', '--tz', 'Europe/Berlin');
    expect(stdout).toBe(
      [
        'Parameters:TimeZone=Europe/Berlin',
        'Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency',
        'GCLID-A,Digistore24 sale,2026-03-28 00:30:00,47.00,EUR',
        'GCLID-B_q,Digistore24 sale,2026-03-29 03:15:00,19.90,USD',
        '',
      ].join('\n'),
    );
    expect(stderr).toContain('2 conversion(s) from 2026-03-28 to 2026-03-29 (Europe/Berlin); types payment as "Digistore24 sale".');
    expect(stderr).toContain('1 without a gclid: gbraid (the import file takes gclid only)');
    expect(stderr).toContain('1 without a gclid: no click id');
    expect(stderr).toContain('1 without a gclid: not a gclid (unexpected characters)');
  }, 60_000);

  it('takes the range and the time zone together (UTC by default), and --conversion-name for every row', async () => {
    const { stdout } = await exportCsv('--from', '2026-03-28', '--to', '2026-03-28', '--conversion-name', 'Sale');
    expect(stdout.split('\n')).toEqual([
      'Parameters:TimeZone=UTC',
      'Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency',
      '',
    ]);
    const out = join(dir, 'import.csv');
    await exportCsv('--from', '2026-03-27', '--to', '2026-03-30', '--conversion-name', 'Sale', '--out', out);
    expect(readFileSync(out, 'utf8').split('\n').slice(2)).toEqual([
      'GCLID-A,Sale,2026-03-27 23:30:00,47.00,EUR',
      'GCLID-B_q,Sale,2026-03-29 01:15:00,19.90,USD',
      'GCLID-D,Sale,2026-03-29 22:30:00,5.00,EUR',
      '',
    ]);
  }, 60_000);

  it('refuses a missing format, a bad day or zone, naming the parameter', async () => {
    await expect(run(join(ROOT, 'node_modules/.bin/tsx'), ['scripts/export.ts', '--from', '2026-03-28', '--to', '2026-03-29'], { cwd: ROOT })).rejects.toMatchObject({
      stderr: expect.stringContaining('name the format: --google-ads'),
    });
    await expect(exportCsv('--from', '28.03.2026', '--to', '2026-03-29')).rejects.toMatchObject({ stderr: expect.stringContaining('--from: give the first day as YYYY-MM-DD') });
    await expect(exportCsv('--from', '2026-03-28', '--to', '2026-03-29', '--tz', 'Mars/Olympus')).rejects.toMatchObject({ stderr: expect.stringContaining('--tz: "Mars/Olympus" is not a time zone') });
  }, 60_000);
});

describe('the export core', () => {
  it('names rows by --conversion-name, else a mapped name, else the type (a resource name is not a name)', () => {
    const withResource = parseConfig({ ...config, conversionTypes: digistore24ConversionTypes.map((t) => (t.name === 'payment' ? { ...t, platformEvents: { 'google-ads': 'customers/1/conversionActions/2' } } : t)) });
    const conversion = { clickId: 'C', type: 'payment', revenue: '1', currency: 'EUR', createdAt: '2026-03-28T10:00:00Z', channelId: 'google-old', channelClickId: 'G' };
    expect(selectExportRows([conversion], withResource).rows[0]?.name).toBe('payment');
    expect(selectExportRows([conversion], config).rows[0]?.name).toBe('Digistore24 sale');
    expect(selectExportRows([conversion], config, 'X').rows[0]?.name).toBe('X');
    // No type mapped to Google Ads at all: the sale (payment) is exported under its own name.
    const unmapped = parseConfig({ ...config, conversionTypes: [...digistore24ConversionTypes] });
    expect(selectExportRows([conversion], unmapped).names).toEqual({ payment: 'payment' });
  });

  it('quotes a field that needs it (a conversion name with a comma)', () => {
    expect(googleAdsCsv([{ gclid: 'G', name: 'Sale, "big"', at: '2026-03-28T10:00:00Z', value: '1.5', currency: 'EUR' }], 'UTC').split('\n')[2]).toBe('G,"Sale, ""big""",2026-03-28 10:00:00,1.50,EUR');
  });

  it('writes the fall-back hour of a DST switch as its local time', () => {
    expect(importTime('2026-10-25T00:30:00Z', 'Europe/Berlin')).toBe('2026-10-25 02:30:00');
    expect(importTime('2026-10-25T01:30:00Z', 'Europe/Berlin')).toBe('2026-10-25 02:30:00');
    expect(googleAdsCsv([], 'America/New_York')).toBe('Parameters:TimeZone=America/New_York\nGoogle Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency\n');
  });
});
