import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoConversionTypes } from '../../lambda/adapters/dynamodb-store';
import type { ConversionType } from '../../config/schema';
import { countingClient, freshTables, scanAll } from '../support/dynamo';

const t = (name: string, revenue: ConversionType['revenue'] = 'add'): ConversionType => ({ name, revenue, countsAsConversion: true, forwardToChannel: false });

describe('syncConversionTypes', () => {
  it('creates, updates and deletes to match the config, and writes nothing when nothing changed', async () => {
    const { client, tables } = await freshTables();
    expect(await syncConversionTypes(client, tables.conversionTypes, [t('payment'), t('refund', 'subtract'), t('old')])).toEqual({
      created: ['payment', 'refund', 'old'],
      updated: [],
      deleted: [],
      unchanged: [],
    });
    expect(await syncConversionTypes(client, tables.conversionTypes, [t('payment', 'ignore'), t('refund', 'subtract'), t('new')])).toEqual({
      created: ['new'],
      updated: ['payment'],
      deleted: ['old'],
      unchanged: ['refund'],
    });
    expect((await scanAll(client, tables.conversionTypes)).map((i) => `${String(i.name)}:${String(i.revenue)}`).sort()).toEqual([
      'new:add',
      'payment:ignore',
      'refund:subtract',
    ]);

    const counting = countingClient();
    await syncConversionTypes(counting.client, tables.conversionTypes, [t('payment', 'ignore'), t('refund', 'subtract'), t('new')]);
    expect(counting.calls).toEqual(['ScanCommand']);
  });

  it('writes more than one batch of 25', async () => {
    const { client, tables } = await freshTables();
    const many = Array.from({ length: 60 }, (_, i) => t(`type${i}`));
    expect((await syncConversionTypes(client, tables.conversionTypes, many)).created).toHaveLength(60);
    expect(await scanAll(client, tables.conversionTypes)).toHaveLength(60);
  });
});

describe('DynamoConversionTypes', () => {
  it('caches found types for its TTL and never caches a miss', async () => {
    const { client, tables } = await freshTables();
    let now = 0;
    const counting = countingClient();
    const types = new DynamoConversionTypes(counting.client, tables.conversionTypes, 1000, () => now);
    expect(await types.getConversionType('payment')).toBeUndefined();
    await syncConversionTypes(client, tables.conversionTypes, [t('payment')]);
    expect(await types.getConversionType('payment')).toEqual(t('payment'));
    expect(await types.getConversionType('payment')).toEqual(t('payment'));
    expect(counting.calls).toHaveLength(2);
    now = 1001;
    await types.getConversionType('payment');
    expect(counting.calls).toHaveLength(3);
  });
});
