/**
 * Reads for reports, keyed by campaign and time: the clicks table's own campaign partitions
 * and the conversions byCampaign index, paginated, projecting only what the report uses —
 * never a full-table scan. Consumed read capacity is counted so the cost of a report can be
 * stated. Numbers (revenue) are read as their exact text, never as a JS float.
 */
import { QueryCommand, type AttributeValue, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { campaignPartitions, mintId } from '../core/ids';
import { TEST_CAMPAIGN_PREFIX, UNATTRIBUTED_CLICK_ID } from '../core/model';
import type { ReportClick, ReportConversion } from '../core/report';
import { decimalOf, wrapStoredNumber } from './stored-number';

export interface ReadStats {
  queries: number;
  items: number;
  /** Read capacity units DynamoDB reported as consumed. */
  capacityUnits: number;
}

export function newStats(): ReadStats {
  return { queries: 0, items: 0, capacityUnits: 0 };
}

async function* query(client: DynamoDBClient, input: QueryCommandInput, stats: ReadStats): AsyncGenerator<Record<string, unknown>> {
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(new QueryCommand({ ...input, ExclusiveStartKey: start, ReturnConsumedCapacity: 'TOTAL' }));
    stats.queries++;
    stats.capacityUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
    for (const item of out.Items ?? []) {
      stats.items++;
      // wrapNumbers: a DynamoDB number stays its text (NumberValue); a float would round
      // amounts such as 90071992547409.93.
      yield unmarshall(item, { wrapNumbers: wrapStoredNumber });
    }
    start = out.LastEvaluatedKey;
  } while (start);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const optional = <K extends string>(key: K, value: unknown): Partial<Record<K, string>> => {
  const s = str(value);
  return s === undefined ? {} : ({ [key]: s } as Partial<Record<K, string>>);
};
const SUBS = ['sub1', 'sub2', 'sub3', 'sub4', 'sub5'] as const;

function projection(names: readonly string[]): { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> } {
  const attributeNames: Record<string, string> = {};
  names.forEach((n, i) => (attributeNames[`#p${i}`] = n));
  return { ProjectionExpression: names.map((_, i) => `#p${i}`).join(', '), ExpressionAttributeNames: attributeNames };
}

const CLICK_FIELDS = ['clickId', 'campaignId', 'offerId', 'landerId', 'lpClickAt', 'bot', 'channelId', 'createdAt', 'country', 'cost', 'channelClickId', ...SUBS] as const;

/**
 * Clicks of one campaign made in [from, to): 32 key-range queries, one per partition of the
 * campaign (click ids begin with a ULID, so the time range is a sort-key range).
 */
export async function* campaignClicks(
  client: DynamoDBClient,
  table: string,
  campaignId: string,
  from: Date,
  to: Date,
  stats: ReadStats,
): AsyncGenerator<ReportClick> {
  const p = projection(CLICK_FIELDS);
  const lo = mintId(from.getTime(), Buffer.alloc(10, 0));
  const hi = `${mintId(to.getTime() - 1, Buffer.alloc(10, 0xff))}ZZZZ`;
  for (const partition of campaignPartitions(campaignId)) {
    const input: QueryCommandInput = {
      TableName: table,
      KeyConditionExpression: '#pk = :pk AND #k BETWEEN :lo AND :hi',
      ...p,
      ExpressionAttributeNames: { ...p.ExpressionAttributeNames, '#pk': 'pk', '#k': 'clickId' },
      ExpressionAttributeValues: { ':pk': { S: partition }, ':lo': { S: lo }, ':hi': { S: hi } },
    };
    for await (const item of query(client, input, stats)) {
      // Two campaigns could share a 20-bit code: keep only this one's clicks.
      if (item.campaignId !== campaignId) continue;
      yield {
        clickId: String(item.clickId),
        campaignId: String(item.campaignId),
        createdAt: String(item.createdAt),
        ...optional('offerId', item.offerId),
        ...optional('landerId', item.landerId),
        ...optional('lpClickAt', item.lpClickAt),
        ...(item.bot === true ? { bot: true as const } : {}),
        ...optional('channelId', item.channelId),
        ...optional('country', item.country),
        ...optional('cost', item.cost),
        ...optional('channelClickId', item.channelClickId),
        ...Object.assign({}, ...SUBS.map((s) => optional(s, item[s]))),
      };
    }
  }
}

const CONVERSION_FIELDS = [
  'clickId', 'campaignId', 'offerId', 'channelId', 'type', 'counted', 'revenue', 'currency', 'createdAt', 'clickCreatedAt', 'country', 'channelClickId', ...SUBS,
] as const;

function toConversion(item: Record<string, unknown>): ReportConversion {
  // Test orders are indexed under `~test:<campaign>` (read only with --include-tests).
  const test = typeof item.campaignId === 'string' && item.campaignId.startsWith(TEST_CAMPAIGN_PREFIX);
  if (test) item.campaignId = String(item.campaignId).slice(TEST_CAMPAIGN_PREFIX.length);
  // Organic sales are indexed under the campaign id UNATTRIBUTED_CLICK_ID: they have none.
  if (item.campaignId === UNATTRIBUTED_CLICK_ID) delete item.campaignId;
  return {
    ...(test ? { test: true as const } : {}),
    clickId: String(item.clickId),
    type: String(item.type),
    counted: item.counted === true,
    revenue: decimalOf(item.revenue),
    currency: String(item.currency ?? ''),
    createdAt: String(item.createdAt),
    ...optional('campaignId', item.campaignId),
    ...optional('offerId', item.offerId),
    ...optional('channelId', item.channelId),
    ...optional('clickCreatedAt', item.clickCreatedAt),
    ...optional('country', item.country),
    ...optional('channelClickId', item.channelClickId),
    ...Object.assign({}, ...SUBS.map((s) => optional(s, item[s]))),
  };
}

/**
 * Conversions of one campaign whose click was made in [from, to). They arrive after their click
 * — within the click retention, or any time later when a refund, chargeback or rebill follows a
 * sale whose click has expired (core/conversion attributes those from the sale) — so the index
 * range starts at `from` and has no end: no retention, however it changed, can hide one. With
 * `tests`, the campaign's test orders instead (indexed apart, under `~test:<campaign>`).
 */
export async function* campaignConversions(
  client: DynamoDBClient,
  table: string,
  campaignId: string,
  from: Date,
  to: Date,
  stats: ReadStats,
  tests = false,
): AsyncGenerator<ReportConversion> {
  const p = projection(CONVERSION_FIELDS);
  const input: QueryCommandInput = {
    TableName: table,
    IndexName: 'byCampaign',
    KeyConditionExpression: '#c = :c AND #t >= :lo',
    ...p,
    ExpressionAttributeNames: { ...p.ExpressionAttributeNames, '#c': 'campaignId', '#t': 'createdAt' },
    ExpressionAttributeValues: { ':c': { S: tests ? `${TEST_CAMPAIGN_PREFIX}${campaignId}` : campaignId }, ':lo': { S: from.toISOString() } },
  };
  const fromIso = from.toISOString();
  const toIso = to.toISOString();
  for await (const item of query(client, input, stats)) {
    const conversion = toConversion(item);
    const clickAt = conversion.clickCreatedAt ?? conversion.createdAt;
    if (clickAt >= fromIso && clickAt < toIso) yield conversion;
  }
}

/** Conversions without a click (organic sales) that arrived in [from, to): one index range (`tests`: their test orders). */
export async function* unattributedConversions(client: DynamoDBClient, table: string, from: Date, to: Date, stats: ReadStats, tests = false): AsyncGenerator<ReportConversion> {
  const p = projection(CONVERSION_FIELDS);
  const input: QueryCommandInput = {
    TableName: table,
    IndexName: 'byCampaign',
    KeyConditionExpression: '#c = :u AND #t BETWEEN :lo AND :hi',
    ...p,
    ExpressionAttributeNames: { ...p.ExpressionAttributeNames, '#c': 'campaignId', '#t': 'createdAt' },
    // BETWEEN is inclusive; one millisecond before `to` keeps the range half-open.
    ExpressionAttributeValues: { ':u': { S: tests ? `${TEST_CAMPAIGN_PREFIX}${UNATTRIBUTED_CLICK_ID}` : UNATTRIBUTED_CLICK_ID }, ':lo': { S: from.toISOString() }, ':hi': { S: new Date(to.getTime() - 1).toISOString() } },
  };
  for await (const item of query(client, input, stats)) yield toConversion(item);
}
