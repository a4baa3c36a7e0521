/**
 * `npm run bench:sweep [-- --due 2000 --others 18000]`: what finding due sends costs. Records
 * conversions on an embedded DynamoDB (dynalite computes consumed capacity as DynamoDB does):
 * `--due` Google Ads sends that are due and `--others` conversions sent nowhere (or already sent),
 * then reads the due index as the sweep does and prints the items and read units it took — the
 * measure of "no table scan" (docs/architecture.md, "The due index instead of a scan").
 */
import { parseArgs } from 'node:util';
import { DynamoConversionStore, createDynamoClient } from '../lambda/adapters/dynamodb-store';
import { DynamoSendState } from '../lambda/adapters/send-state';
import { mintClickId } from '../lambda/core/ids';
import type { ConversionRecord } from '../lambda/core/model';
import type { SendConversion } from '../lambda/core/send-model';
import { startDynalite } from '../lambda/local/dynalite';
import { ensureTables, localTableNames } from '../lambda/local/tables';
import { PRICES } from './prices';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { due: { type: 'string' }, others: { type: 'string' } } });
  const due = Number(values.due ?? 2000);
  const others = Number(values.others ?? 18000);
  const dynamo = await startDynalite({ port: 0 });
  const client = createDynamoClient(dynamo.endpoint);
  try {
    const tables = localTableNames('bench');
    await ensureTables(client, tables);
    const conversions = new DynamoConversionStore(client, tables.conversions);
    const now = Date.now();
    const record = (i: number, send: boolean): SendConversion => {
      const clickAt = now - 8 * 3_600_000 - i * 1000;
      const base: ConversionRecord = {
        clickId: mintClickId('gg', clickAt),
        conversionKey: `payment|TX${i}`,
        type: 'payment',
        revenue: '47.5',
        currency: 'EUR',
        counted: true,
        txid: `TX${i}`,
        source: 'postback',
        createdAt: new Date(clickAt + 600_000).toISOString(),
        attributed: true,
        campaignId: 'gg',
        offerId: 'ds24',
        channelId: 'google',
        channelClickId: `Cj0KCQiA${i.toString(36).padStart(8, '0')}gclid`,
        clickCreatedAt: new Date(clickAt).toISOString(),
      };
      return send ? { ...base, forwardTo: 'google-ads', sendQueue: 'google-ads', sendDue: new Date(clickAt + 6 * 3_600_000).toISOString() } : { ...base, forwardTo: 'google-ads', forwardState: 'sent' };
    };
    const all = [...Array.from({ length: due }, (_, i) => record(i, true)), ...Array.from({ length: others }, (_, i) => record(due + i, false))];
    for (let i = 0; i < all.length; i += 50) await Promise.all(all.slice(i, i + 50).map((c) => conversions.putConversion(c)));

    const state = new DynamoSendState(client, tables.conversions);
    let cursor: string | undefined;
    let found = 0;
    do {
      const page = await state.due('google-ads', new Date(now).toISOString(), 2000, cursor);
      found += page.items.length;
      cursor = page.cursor;
    } while (cursor !== undefined);
    const emptyState = new DynamoSendState(client, tables.conversions);
    await emptyState.due('meta', new Date(now).toISOString(), 2000);
    const usd = (units: number) => units * PRICES.dynamoReadUnit.usd;
    const result = {
      recorded: all.length,
      due,
      found,
      queries: state.stats.queries,
      indexItemsRead: state.stats.items,
      readUnits: state.stats.capacityUnits,
      dollarsPerSweep: Number(usd(state.stats.capacityUnits).toFixed(8)),
      nothingDue: { readUnits: emptyState.stats.capacityUnits, items: emptyState.stats.items },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    client.destroy();
    await dynamo.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:sweep: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
