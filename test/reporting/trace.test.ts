import { DynamoClickStore, DynamoConversionStore } from '../../lambda/adapters/dynamodb-store';
import { clickConversions, clickInbound, recentInbound } from '../../lambda/adapters/trace-source';
import { formatRecent, formatTrace } from '../../lambda/core/trace';
import { buildDataset, type Dataset } from './dataset';

let data: Dataset;
beforeAll(async () => {
  data = await buildDataset();
});

async function trace(clickId: string) {
  const click = await new DynamoClickStore(data.client, data.tables.clicks).getClick(clickId);
  return {
    clickId,
    ...(click ? { click } : {}),
    inbound: await clickInbound(data.client, data.tables.inbound, clickId),
    conversions: await clickConversions(data.client, data.tables.conversions, clickId),
    queued: data.queued.filter((m) => m.clickId === clickId),
  };
}

describe('trace of a click', () => {
  it('shows every postback that named it with its outcome, and the conversions stored', async () => {
    const t = await trace(data.clickIds.c1);
    expect(t.inbound.map((e) => [e.receivedAt, e.channel, e.type, e.outcome, e.httpStatus])).toEqual([
      ['2026-11-25T09:00:00.000Z', 'postback', 'payment', 'recorded', 200],
      ['2026-11-25T09:01:00.000Z', 'postback', 'payment', 'duplicate', 200],
      ['2026-11-26T09:00:00.000Z', 'postback', 'refund', 'recorded', 200],
    ]);
    expect(t.conversions.map((c) => [c.conversionKey, c.revenue])).toEqual([
      ['payment|T1', '47'],
      ['refund|T1R', '-47'],
    ]);
    const text = formatTrace(t);
    expect(text).toContain(`Click ${data.clickIds.c1}`);
    expect(text).toContain('campaign demo, offer ds24, channel facebook (channel click id F1)');
    expect(text).toContain('2026-11-25T09:01:00.000Z  postback payment, 47 EUR, txid T1 -> duplicate, 200: OK duplicate: payment for this click and txid T1 was recorded before; nothing changed.');
  });

  it('shows tests, queued and rejected requests with their reasons, and what waits in the queue', async () => {
    const t = await trace(data.clickIds.c4);
    expect(t.inbound.map((e) => [e.channel, e.type ?? null, e.outcome, e.reason ?? null, e.httpStatus])).toEqual([
      ['postback', 'payment', 'recorded', null, 200],
      ['postback', 'payment', 'test', null, 200],
      ['postback', 'Purchase', 'queued', 'unknown_type', 202],
      ['postback', null, 'rejected', 'invalid_input:sum', 400],
    ]);
    expect(t.queued.map((m) => m.reason)).toEqual(['unknown_type']);
    expect(formatTrace(t)).toMatch(/Waiting in the dead-letter queue or its archive \(1\):\n {2}2026-11-25T14:00:00.000Z {2}postback unknown_type: unknown conversion type "Purchase"/);
    // A message moved to the archive after 10 days still waits, and says where.
    const archived = formatTrace({ ...t, queued: t.queued.map((m) => ({ ...m, place: 'archive' as const })) });
    expect(archived).toMatch(/\n {2}2026-11-25T14:00:00.000Z {2}\[archive\] postback unknown_type: /);
  });

  it('shows the pixel', async () => {
    const t = await trace(data.clickIds.c3);
    expect(t.inbound.map((e) => [e.channel, e.type, e.outcome])).toEqual([
      ['pixel', 'InitiateCheckout', 'recorded'],
      ['postback', 'payment', 'recorded'],
      ['postback', 'upsell', 'recorded'],
      ['postback', 'chargeback', 'recorded'],
    ]);
  });

  it('prints a stored amount exactly, never through a float', async () => {
    const clickId = data.clickIds.c4;
    await new DynamoConversionStore(data.client, data.tables.conversions).putConversion({
      clickId, conversionKey: 'payment|BIG', txid: 'BIG', type: 'payment', revenue: '90071992547409.93', currency: 'USD', counted: true, source: 'postback', attributed: true, createdAt: '2026-11-28T00:00:00.000Z',
    });
    const text = formatTrace(await trace(clickId));
    expect(text).toContain('2026-11-28T00:00:00.000Z  payment 90071992547409.93 USD, txid BIG');
  });

  it('says plainly when a click is not stored', async () => {
    expect(formatTrace(await trace('01AAAAAAAAAAAAAAAAAAAAAAAA'))).toMatch(/^Click 01AAAAAAAAAAAAAAAAAAAAAAAA: not stored/);
  });
});

describe('recent inbound', () => {
  it('lists the latest requests newest first, across days, organic sales included', async () => {
    const recent = await recentInbound(data.client, data.tables.inbound, 4, new Date('2026-11-27T23:00:00.000Z'));
    expect(recent.map((e) => [e.receivedAt, e.type ?? null, e.outcome])).toEqual([
      ['2026-11-27T11:05:00.000Z', 'chargeback', 'recorded'],
      ['2026-11-26T09:00:00.000Z', 'refund', 'recorded'],
      ['2026-11-25T14:10:00.000Z', null, 'rejected'],
      ['2026-11-25T14:00:00.000Z', 'Purchase', 'queued'],
    ]);
    const all = await recentInbound(data.client, data.tables.inbound, 50, new Date('2026-11-27T23:00:00.000Z'));
    expect(all).toHaveLength(13);
    expect(all.find((e) => e.txid === 'T5')).toMatchObject({ clickId: '~unattributed', outcome: 'recorded' });
    expect(formatRecent(all).split('\n')).toHaveLength(13);
  });
});
