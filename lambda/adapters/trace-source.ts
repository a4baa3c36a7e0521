/** Reads for `npm run trace`: one click's items by key, and the latest inbound requests by day. */
import { QueryCommand, type AttributeValue, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { collapseCopies } from '../core/dead-letter-list';
import type { ClickRecord, DeadLetterQueue, InboundEntry } from '../core/model';
import { traceSafeClick, traceSafeConversion, traceSafeMessage, type ClickTrace } from '../core/trace';
import { DynamoClickStore } from './dynamodb-store';
import { decimalOf, wrapStoredNumber } from './stored-number';

async function queryAll(client: DynamoDBClient, input: QueryCommandInput, limit = Infinity, exactNumbers = false): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    out.push(...(page.Items ?? []).map((i) => unmarshall(i, exactNumbers ? { wrapNumbers: wrapStoredNumber } : {})));
    start = page.LastEvaluatedKey;
  } while (start && out.length < limit);
  return out.slice(0, limit);
}

function toEntry(item: Record<string, unknown>): InboundEntry {
  const { receivedKey: _k, day: _d, expiresAt: _e, ...rest } = item;
  return rest as unknown as InboundEntry;
}

/** Every conversion stored for a click (one partition), revenue as exact decimal text. */
export async function clickConversions(client: DynamoDBClient, table: string, clickId: string): Promise<Record<string, unknown>[]> {
  const items = await queryAll(client, { TableName: table, KeyConditionExpression: '#k = :k', ExpressionAttributeNames: { '#k': 'clickId' }, ExpressionAttributeValues: { ':k': { S: clickId } } }, Infinity, true);
  // Numbers as numbers where trace counts them (how many send attempts failed before).
  return items.map((item) => ({ ...item, revenue: decimalOf(item.revenue), ...(item.forwardAttempts !== undefined ? { forwardAttempts: Number(decimalOf(item.forwardAttempts)) } : {}) }));
}

/** Every inbound request that named a click, oldest first. */
export async function clickInbound(client: DynamoDBClient, table: string, clickId: string): Promise<InboundEntry[]> {
  const items = await queryAll(client, { TableName: table, KeyConditionExpression: '#k = :k', ExpressionAttributeNames: { '#k': 'clickId' }, ExpressionAttributeValues: { ':k': { S: clickId } } });
  return items.map(toEntry);
}

/** The latest `count` inbound requests, newest first: one byDay query per day, going back at most `maxDays`. */
export async function recentInbound(client: DynamoDBClient, table: string, count: number, now: Date, maxDays = 31): Promise<InboundEntry[]> {
  const out: InboundEntry[] = [];
  for (let back = 0; back < maxDays && out.length < count; back++) {
    const day = new Date(now.getTime() - back * 86400_000).toISOString().slice(0, 10);
    const items = await queryAll(
      client,
      {
        TableName: table,
        IndexName: 'byDay',
        KeyConditionExpression: '#d = :d',
        ExpressionAttributeNames: { '#d': 'day' },
        ExpressionAttributeValues: { ':d': { S: day } },
        ScanIndexForward: false,
        Limit: count - out.length,
      },
      count - out.length,
    );
    out.push(...items.map(toEntry));
  }
  return out;
}

/**
 * The whole story of one click (`npm run trace <clickid>`, the dashboard's trace): the click,
 * every inbound request that named it, its conversions, and the dead letters (queue and archive)
 * that name it. The queue's messages are read and released at once: they stay queued.
 */
export async function readTrace(
  client: DynamoDBClient,
  tables: { clicks: string; conversions: string; inbound: string },
  queue: Pick<DeadLetterQueue, 'receive' | 'release'>,
  archive: Pick<DeadLetterQueue, 'receive'>,
  clickId: string,
): Promise<ClickTrace> {
  const received = await queue.receive(1000);
  await Promise.all(received.map((r) => queue.release(r.handle)));
  // Messages that waited 10 days are in the archive: still waiting for this click.
  received.push(...(await archive.receive(1000)));
  const click = await new DynamoClickStore(client, tables.clicks).getClick(clickId);
  // What `npm run trace` and the dashboard's /api/trace show: never the sealed full address
  // (only whether one is kept), never a store token.
  return {
    clickId,
    ...(click ? { click: traceSafeClick(click as unknown as Record<string, unknown>) as unknown as ClickRecord } : {}),
    inbound: await clickInbound(client, tables.inbound, clickId),
    conversions: (await clickConversions(client, tables.conversions, clickId)).map(traceSafeConversion),
    // One entry per message (copies of an updated one collapse), with where it waits.
    queued: collapseCopies(received).filter((m) => m.clickId === clickId || m.forward?.clickId === clickId).map(traceSafeMessage),
  };
}
