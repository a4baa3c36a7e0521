/**
 * The IPN URL as Digistore24 reaches the local tracker, over real HTTP: the URL check (GET and
 * HEAD), and a signed full IPN answered with exactly the two bytes `OK`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../config/schema';
import { digistore24IpnConversionTypes } from '../../config/digistore24';
import { createDynamoClient, DynamoClickStore } from '../../lambda/adapters/dynamodb-store';
import { startLocalTracker, type LocalTracker } from '../../lambda/local/server';
import { testConfig } from '../support/config';
import { scanAll } from '../support/dynamo';
import { fixture, formBody } from '../support/ipn';

const full = fixture('full on_payment with click_id (173 fields, as sent)');
let withIpn: LocalTracker;
let withoutIpn: LocalTracker;

beforeAll(async () => {
  const base = testConfig();
  const config = parseConfig({ ...base, conversionTypes: [...base.conversionTypes, ...digistore24IpnConversionTypes], digistore24: { ipn: {} } });
  withIpn = await startLocalTracker({
    config,
    dataDir: mkdtempSync(join(tmpdir(), 'cv-ipn-')),
    port: 0,
    dynamoPort: 0,
    inMemory: true,
    env: { DS24_IPN_PASSPHRASE: full.passphrase },
  });
  withoutIpn = await startLocalTracker({ config: testConfig(), dataDir: mkdtempSync(join(tmpdir(), 'cv-noipn-')), port: 0, dynamoPort: 0, inMemory: true });
});

afterAll(async () => {
  await withIpn?.close();
  await withoutIpn?.close();
});

const stored = async (tracker: LocalTracker, table: 'conversions' | 'inbound') => scanAll(createDynamoClient(tracker.dynamo.endpoint), tracker.tables[table]);

describe('/ipn/digistore24 over HTTP', () => {
  it('GET and HEAD answer 200 OK (HEAD without a body) and store nothing', async () => {
    const get = await fetch(`${withIpn.url}/ipn/digistore24`);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('OK');
    const head = await fetch(`${withIpn.url}/ipn/digistore24`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(await stored(withIpn, 'conversions')).toEqual([]);
    expect(await stored(withIpn, 'inbound')).toEqual([]);
  });

  it('without an IPN section: 404 for GET, HEAD and POST', async () => {
    for (const method of ['GET', 'HEAD', 'POST']) {
      const response = await fetch(`${withoutIpn.url}/ipn/digistore24`, { method, ...(method === 'POST' ? { body: formBody(full.form) } : {}) });
      expect(response.status).toBe(404);
    }
  });

  it('a signed full IPN is recorded on its click and answered with exactly "OK"', async () => {
    const clickId = String(full.form.click_id);
    await new DynamoClickStore(createDynamoClient(withIpn.dynamo.endpoint), withIpn.tables.clicks).putClick({
      clickId, campaignId: 'demo', offerId: 'ds24', channelId: 'facebook', createdAt: new Date().toISOString(), expiresAt: Math.floor(Date.now() / 1000) + 86400, subs: {},
    });
    const response = await fetch(`${withIpn.url}/ipn/digistore24`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody(full.form),
    });
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).toString('latin1')).toBe('OK');
    const conversions = await stored(withIpn, 'conversions');
    expect(conversions.map((c) => `${String(c.clickId)} ${String(c.type)} ${String(c.revenue)}`).sort()).toEqual([
      `${clickId} initial_sale 0`,
      `${clickId} payment 39.5`,
    ]);
  });
});
