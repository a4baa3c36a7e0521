/**
 * A known data set, made through the real handlers on dynalite: clicks across two campaigns,
 * subs, countries and costs, on both sides of midnight in Berlin; payments, a refund, a
 * chargeback, a duplicate, a test postback, a pixel and an organic sale.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { syncConversionTypes } from '../../lambda/adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, DynamoInboundLog } from '../../lambda/adapters/dynamodb-store';
import type { DeadLetterMessage, DeadLetterSink } from '../../lambda/core/model';
import { compileConfig } from '../../lambda/core/tracker-config';
import { createClickHandler } from '../../lambda/handlers/click';
import { createPostbackHandler } from '../../lambda/handlers/postback';
import { logger } from '../../lambda/logger';
import type { TableNames } from '../../lambda/local/tables';
import { testConfig } from '../support/config';
import { freshTables } from '../support/dynamo';
import { httpEvent } from '../support/events';

export interface Dataset {
  client: DynamoDBClient;
  tables: TableNames;
  clickIds: { c1: string; c2: string; c3: string; c4: string };
  queued: DeadLetterMessage[];
}

export async function buildDataset(): Promise<Dataset> {
  const { client, tables } = await freshTables();
  const config = testConfig();
  await syncConversionTypes(client, tables.conversionTypes, config.conversionTypes);
  const queued: DeadLetterMessage[] = [];
  const sink: DeadLetterSink = {
    send: async (m) => {
      queued.push(m);
      return { status: 'queued', messageId: m.id };
    },
  };
  const clicks = new DynamoClickStore(client, tables.clicks);
  let now = new Date();
  const clock = () => now;
  const click = createClickHandler({ config: compileConfig(config), clicks, deadLetters: () => sink, log: logger, random: () => 0 }, { now: clock });
  const inbound = { log: new DynamoInboundLog(client, tables.inbound), retentionDays: 30 };
  const postback = createPostbackHandler(
    { clicks, conversions: new DynamoConversionStore(client, tables.conversions), types: new DynamoConversionTypes(client, tables.conversionTypes), deadLetters: () => sink, defaultCurrency: 'EUR' },
    { now: clock, inbound },
  );

  const clickAt = async (at: string, campaign: string, query: string, country: string) => {
    now = new Date(at);
    const r = await click(httpEvent({ path: `/click/${campaign}`, query, pathParameters: { campaignId: campaign }, headers: { 'cloudfront-viewer-country': country } }));
    const location = new URL(String(r.headers?.location));
    return location.searchParams.get('cid') ?? location.searchParams.get('c') ?? '';
  };
  const post = async (at: string, query: string) => {
    now = new Date(at);
    return postback(httpEvent({ path: '/postback', query }));
  };

  // Berlin is UTC+1 in November: c2 is on the 24th in UTC but the 25th in Berlin.
  const c1 = await clickAt('2026-11-24T22:30:00.000Z', 'demo', 'sub1=a&fbclid=F1&cost=0.50', 'DE');
  const c2 = await clickAt('2026-11-24T23:30:00.000Z', 'demo', 'sub1=b&cost=0.50', 'AT');
  const c3 = await clickAt('2026-11-25T10:00:00.000Z', 'demo', 'sub1=a', 'DE');
  const c4 = await clickAt('2026-11-25T12:00:00.000Z', 'split', 'sub1=a&gclid=G4', 'US');

  await post('2026-11-25T09:00:00.000Z', `clickid=${c1}&type=payment&sum=47.00&currency=EUR&txid=T1`);
  await post('2026-11-25T09:01:00.000Z', `clickid=${c1}&type=payment&sum=47.00&currency=EUR&txid=T1`); // duplicate
  await post('2026-11-26T09:00:00.000Z', `clickid=${c1}&type=refund&sum=-47.00&currency=EUR&txid=T1R`);
  await post('2026-11-25T09:30:00.000Z', `clickid=${c2}&type=payment&sum=30&currency=EUR&txid=T2`);
  await post('2026-11-25T11:00:00.000Z', `format=img&clickid=${c3}&type=InitiateCheckout`);
  await post('2026-11-25T11:05:00.000Z', `clickid=${c3}&type=payment&sum=10&currency=EUR&txid=T3`);
  await post('2026-11-25T11:05:30.000Z', `clickid=${c3}&type=upsell&sum=10&currency=EUR&txid=T3`); // counted, no revenue
  await post('2026-11-27T11:05:00.000Z', `clickid=${c3}&type=chargeback&sum=10&currency=EUR&txid=T3C`);
  await post('2026-11-25T13:00:00.000Z', `clickid=${c4}&type=payment&sum=100&currency=USD&txid=T4`);
  await post('2026-11-25T13:00:00.000Z', `clickid=${c4}&type=payment&sum=1&is_test=1`); // test
  await post('2026-11-25T08:00:00.000Z', 'type=payment&sum=5&currency=EUR&txid=T5'); // organic
  await post('2026-11-25T14:00:00.000Z', `clickid=${c4}&type=Purchase&sum=1`); // unknown type -> queued
  await post('2026-11-25T14:10:00.000Z', `clickid=${c4}&type=payment&sum=abc`); // rejected

  return { client, tables, clickIds: { c1, c2, c3, c4 }, queued };
}
