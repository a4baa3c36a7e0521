/**
 * Digistore24 test orders (api_mode=test, recorded with digistore24.ipn.recordTestOrders):
 * left out of reports unless --include-tests, made through the real IPN handler on dynalite.
 */
import { parseConfig } from '../../config/schema';
import { digistore24ConversionTypes, digistore24IpnConversionTypes } from '../../config/digistore24';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import { mintClickId } from '../../lambda/core/ids';
import { buildReport, rowToJson, startOfDay } from '../../lambda/core/report';
import { createIpnHandler } from '../../lambda/handlers/ipn';
import { loadReportData } from '../../lambda/adapters/report-data';
import { freshTables } from '../support/dynamo';
import { httpEvent } from '../support/events';
import { TEST_PROTECTION } from '../support/config';
import { formBody, signed } from '../support/ipn';

const CID = mintClickId('c', Date.parse('2026-11-25T10:00:00.000Z'));
const PASS = 'pp';

it('reports leave test orders out unless asked, and then count them in their campaign and as organic', async () => {
  const { client, tables } = await freshTables();
  const config = parseConfig({
    trafficChannels: [{ id: 'fb', name: 'FB' }],
    offers: [{ id: 'o', name: 'O', source: 'digistore24', url: 'https://www.digistore24.com/redir/1/a/?cid={clickid}' }],
    campaigns: [{ id: 'c', name: 'C', trafficChannel: 'fb', offers: [{ offer: 'o' }] }],
    conversionTypes: [...digistore24ConversionTypes, ...digistore24IpnConversionTypes],
    digistore24: { ipn: { recordTestOrders: true } },
    postbackProtection: TEST_PROTECTION,
  });
  const ipn = config.digistore24?.ipn;
  if (!ipn) throw new Error('no ipn');
  await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
  const clicks = new DynamoClickStore(client, tables.clicks);
  await clicks.putClick({ clickId: CID, campaignId: 'c', offerId: 'o', channelId: 'fb', createdAt: '2026-11-25T10:00:00.000Z', expiresAt: 1800000000, subs: {} });
  const handler = createIpnHandler(
    {
      ipn,
      passphrase: async () => PASS,
      clicks,
      conversions: new DynamoConversionStore(client, tables.conversions),
      types: new DynamoConversionTypes(client, tables.conversionTypes),
      deadLetters: () => ({ send: async (m) => ({ status: 'queued', messageId: m.id }) }),
      defaultCurrency: 'EUR',
    },
    { now: () => new Date('2026-11-25T11:00:00.000Z') },
  );
  const sale = (extra: Record<string, string>) =>
    httpEvent({ method: 'POST', path: '/ipn/digistore24', body: formBody(signed({ event: 'on_payment', currency: 'EUR', pay_sequence_no: '2', ...extra }, PASS)) });
  await handler(sale({ api_mode: 'live', transaction_id: 'L1', amount_netto: '40.00', click_id: CID }));
  await handler(sale({ api_mode: 'test', transaction_id: 'T1', amount_netto: '7.00', click_id: CID }));
  await handler(sale({ api_mode: 'test', transaction_id: 'T2', amount_netto: '3.00' }));

  const report = async (includeTests: boolean) => {
    const data = await loadReportData({
      client, tables, campaigns: ['c'], from: startOfDay('2026-11-25', 'UTC'), to: startOfDay('2026-11-26', 'UTC'), includeUnattributed: true, includeTests,
    });
    return buildReport(data.clicks, data.conversions, { by: ['campaign'], timeZone: 'UTC', costCurrency: 'EUR' }).map(rowToJson);
  };
  expect(await report(false)).toEqual([{ campaignId: 'c', clicks: 1, bots: 0, lpClicks: 0, lpCtr: null, conversions: { payment: 1 }, revenue: { EUR: '40.00' }, cr: 1, epc: { EUR: '40.0000' }, partial: false, retired: false }]);
  expect(await report(true)).toEqual([
    { campaignId: 'c', clicks: 1, bots: 0, lpClicks: 0, lpCtr: null, conversions: { payment: 2 }, revenue: { EUR: '47.00' }, cr: 1, epc: { EUR: '47.0000' }, partial: false, retired: false },
    { campaignId: null, clicks: 0, bots: 0, lpClicks: 0, lpCtr: null, conversions: { payment: 1 }, revenue: { EUR: '3.00' }, cr: 0, epc: { EUR: '0.0000' }, partial: false, retired: false },
  ]);
});
