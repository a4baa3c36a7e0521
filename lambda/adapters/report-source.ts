/**
 * Reads for reports and the rollup upkeep, keyed by campaign and time: the clicks table's own
 * campaign partitions, the conversions byClick index (by click time) and byCampaign index (by
 * arrival), paginated, projecting only what is used — never a full-table scan. Consumed read
 * capacity is counted so the cost of a report can be stated. Numbers (revenue) are read as their
 * exact text, never as a JS float.
 */
import { BatchGetItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { campaignPartitions, idTime, mintId } from '../core/ids';
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

/** Every page of a Query, item by item (numbers as exact text), counted into `stats`. */
export async function* queryItems(client: DynamoDBClient, input: QueryCommandInput, stats: ReadStats): AsyncGenerator<Record<string, unknown>> {
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

/**
 * The items of several async sources, as they come, with at most `concurrency` sources read at
 * once (each source pages on its own). Order between sources is not kept.
 */
export async function* mergeSources<T>(sources: readonly AsyncIterable<T>[], concurrency: number): AsyncGenerator<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const running = new Map<number, Promise<{ i: number; r: IteratorResult<T> }>>();
  let started = 0;
  const pull = (i: number) => {
    const p = (iterators[i] as AsyncIterator<T>).next().then((r) => ({ i, r }));
    p.catch(() => undefined); // raced below; an error surfaces there
    running.set(i, p);
  };
  while (started < iterators.length && running.size < concurrency) pull(started++);
  try {
    while (running.size > 0) {
      const { i, r } = await Promise.race(running.values());
      if (r.done) {
        running.delete(i);
        if (started < iterators.length) pull(started++);
      } else {
        pull(i);
        yield r.value;
      }
    }
  } finally {
    await Promise.all([...running.keys()].map((i) => iterators[i]?.return?.()).filter(Boolean));
  }
}

/** How many of a campaign's 32 click partitions are read at once. */
export const PARTITION_CONCURRENCY = 16;

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

const CLICK_FIELDS = ['clickId', 'campaignId', 'offerId', 'landerId', 'channelId', 'createdAt', 'country', 'cost', 'channelClickId', 'lpClickAt', 'bot', ...SUBS] as const;

/**
 * Clicks of one campaign made in [from, to): 32 key-range queries, one per partition of the
 * campaign (click ids begin with a ULID, so the time range is a sort-key range), read side by side.
 */
/**
 * When the oldest stored click of a campaign (its code) was made: one `Limit 1` query per
 * partition (click ids sort by time). Undefined when it has none.
 */
export async function oldestClickTime(client: DynamoDBClient, table: string, campaignId: string, stats: ReadStats): Promise<number | undefined> {
  let oldest: number | undefined;
  for (const partition of campaignPartitions(campaignId)) {
    const out = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk', '#k': 'clickId' },
        ExpressionAttributeValues: { ':pk': { S: partition } },
        ProjectionExpression: '#k',
        Limit: 1,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    stats.queries++;
    stats.capacityUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
    const id = out.Items?.[0]?.clickId?.S;
    const t = id ? idTime(id.slice(0, 26)) : undefined;
    if (t !== undefined && (oldest === undefined || t < oldest)) oldest = t;
  }
  return oldest;
}

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
  const partitions = campaignPartitions(campaignId).map((partition) =>
    queryItems(
      client,
      {
        TableName: table,
        KeyConditionExpression: '#pk = :pk AND #k BETWEEN :lo AND :hi',
        ...p,
        ExpressionAttributeNames: { ...p.ExpressionAttributeNames, '#pk': 'pk', '#k': 'clickId' },
        ExpressionAttributeValues: { ':pk': { S: partition }, ':lo': { S: lo }, ':hi': { S: hi } },
      },
      stats,
    ),
  );
  for await (const item of mergeSources(partitions, PARTITION_CONCURRENCY)) {
    // Two campaigns could share a 20-bit code: keep only this one's clicks.
    if (item.campaignId !== campaignId) continue;
    yield {
      clickId: String(item.clickId),
      campaignId: String(item.campaignId),
      createdAt: String(item.createdAt),
      ...optional('offerId', item.offerId),
      ...optional('landerId', item.landerId),
      ...optional('channelId', item.channelId),
      ...optional('country', item.country),
      ...optional('cost', item.cost),
      ...optional('channelClickId', item.channelClickId),
      ...optional('lpClickAt', item.lpClickAt),
      ...(item.bot === true ? { bot: true as const } : {}),
      ...Object.assign({}, ...SUBS.map((s) => optional(s, item[s]))),
    };
  }
}

const CONVERSION_FIELDS = [
  'clickId', 'campaignId', 'offerId', 'landerId', 'channelId', 'type', 'counted', 'revenue', 'currency', 'createdAt', 'clickCreatedAt', 'country', 'channelClickId', ...SUBS,
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
    ...optional('landerId', item.landerId),
    ...optional('channelId', item.channelId),
    ...optional('clickCreatedAt', item.clickCreatedAt),
    ...optional('country', item.country),
    ...optional('channelClickId', item.channelClickId),
    ...Object.assign({}, ...SUBS.map((s) => optional(s, item[s]))),
  };
}

/** The index key conversions of a campaign are under: itself, or `~test:<campaign>` for test orders. */
export const conversionIndexKey = (campaignId: string, tests: boolean): string => (tests ? `${TEST_CAMPAIGN_PREFIX}${campaignId}` : campaignId);

/**
 * Conversions indexed under `key` (a campaign, `~test:<campaign>`) whose CLICK was made in
 * [from, to): one range of the byClick index. However late a conversion arrived (a refund 100
 * days after its sale), it is in its click's range; nothing that arrived later is read.
 */
export async function* clickTimeConversions(client: DynamoDBClient, table: string, key: string, from: Date, to: Date, stats: ReadStats): AsyncGenerator<ReportConversion> {
  const p = projection(CONVERSION_FIELDS);
  const input: QueryCommandInput = {
    TableName: table,
    IndexName: 'byClick',
    KeyConditionExpression: '#c = :c AND #t BETWEEN :lo AND :hi',
    ...p,
    ExpressionAttributeNames: { ...p.ExpressionAttributeNames, '#c': 'campaignId', '#t': 'clickCreatedAt' },
    // BETWEEN is inclusive; one millisecond before `to` keeps the range half-open.
    ExpressionAttributeValues: { ':c': { S: key }, ':lo': { S: from.toISOString() }, ':hi': { S: new Date(to.getTime() - 1).toISOString() } },
  };
  for await (const item of queryItems(client, input, stats)) yield toConversion(item);
}

/**
 * Conversions indexed under `key` (a campaign, `~unattributed`, `~test:...`) that ARRIVED in
 * [from, to) (`to` undefined: up to now): one range of the byCampaign index. That index predates
 * landers and does not carry `landerId` (an index's projection cannot change in place); with
 * `landers`, the lander of each conversion is read from its item (BatchGetItem, 100 at a time) —
 * only reports grouped or filtered by lander ask, and only for the few conversions rollups have
 * not taken in yet.
 */
export async function* arrivedConversions(
  client: DynamoDBClient,
  table: string,
  key: string,
  from: Date,
  to: Date | undefined,
  stats: ReadStats,
  options: { landers?: boolean } = {},
): AsyncGenerator<ReportConversion> {
  const p = projection([...CONVERSION_FIELDS, 'conversionKey']);
  const input: QueryCommandInput = {
    TableName: table,
    IndexName: 'byCampaign',
    KeyConditionExpression: to ? '#c = :c AND #t BETWEEN :lo AND :hi' : '#c = :c AND #t >= :lo',
    ...p,
    ExpressionAttributeNames: { ...p.ExpressionAttributeNames, '#c': 'campaignId', '#t': 'createdAt' },
    ExpressionAttributeValues: {
      ':c': { S: key },
      ':lo': { S: from.toISOString() },
      ...(to ? { ':hi': { S: new Date(to.getTime() - 1).toISOString() } } : {}),
    },
  };
  if (!options.landers) {
    for await (const item of queryItems(client, input, stats)) yield toConversion(item);
    return;
  }
  let batch: { conversion: ReportConversion; conversionKey: string }[] = [];
  const flush = async function* () {
    const landers = await landersOf(client, table, batch.map((b) => ({ clickId: b.conversion.clickId, conversionKey: b.conversionKey })), stats);
    for (const b of batch) {
      const landerId = landers.get(`${b.conversion.clickId}\u0000${b.conversionKey}`);
      yield landerId === undefined ? b.conversion : { ...b.conversion, landerId };
    }
    batch = [];
  };
  for await (const item of queryItems(client, input, stats)) {
    batch.push({ conversion: toConversion({ ...item }), conversionKey: String(item.conversionKey) });
    if (batch.length === 100) yield* flush();
  }
  if (batch.length > 0) yield* flush();
}

/** `landerId` of conversion items (eventually consistent BatchGetItem, projected to the keys and it). */
async function landersOf(client: DynamoDBClient, table: string, keys: { clickId: string; conversionKey: string }[], stats: ReadStats): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let pending: Record<string, AttributeValue>[] = keys.map((k) => ({ clickId: { S: k.clickId }, conversionKey: { S: k.conversionKey } }));
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt > 8) throw new Error(`the landers of ${pending.length} conversion(s) could not be read (throttled)`);
    if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    const res = await client.send(
      new BatchGetItemCommand({
        RequestItems: { [table]: { Keys: pending, ProjectionExpression: '#a, #b, #l', ExpressionAttributeNames: { '#a': 'clickId', '#b': 'conversionKey', '#l': 'landerId' } } },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    stats.queries++;
    stats.capacityUnits += (res.ConsumedCapacity ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
    for (const item of res.Responses?.[table] ?? []) {
      const lander = item.landerId?.S;
      if (lander !== undefined) out.set(`${item.clickId?.S}\u0000${item.conversionKey?.S}`, lander);
    }
    pending = res.UnprocessedKeys?.[table]?.Keys ?? [];
  }
  return out;
}

/**
 * Conversions of one campaign whose click was made in [from, to) (`tests`: its test orders,
 * indexed apart under `~test:<campaign>`).
 */
export function campaignConversions(
  client: DynamoDBClient,
  table: string,
  campaignId: string,
  from: Date,
  to: Date,
  stats: ReadStats,
  tests = false,
): AsyncGenerator<ReportConversion> {
  return clickTimeConversions(client, table, conversionIndexKey(campaignId, tests), from, to, stats);
}

/** Conversions without a click (organic sales) that arrived in [from, to): one index range (`tests`: their test orders). */
export function unattributedConversions(client: DynamoDBClient, table: string, from: Date, to: Date, stats: ReadStats, tests = false): AsyncGenerator<ReportConversion> {
  return arrivedConversions(client, table, conversionIndexKey(UNATTRIBUTED_CLICK_ID, tests), from, to, stats);
}
