/**
 * Reads for `npm run export -- --google-ads`: a campaign's conversions by the time they were
 * recorded (the byCampaign index, `createdAt` between two instants, projecting only what the file
 * needs), and, where a channel takes its click id from several parameters, which one each came
 * from (BatchGetItem on the table: the index does not carry it). Never a scan.
 */
import { BatchGetItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { ExportConversion } from '../core/google-ads-export';
import type { ReadStats } from './report-source';
import { decimalOf, wrapStoredNumber } from './stored-number';

const FIELDS = ['clickId', 'conversionKey', 'type', 'revenue', 'currency', 'createdAt', 'channelId', 'channelClickId'] as const;

export async function* conversionsRecordedBetween(
  client: DynamoDBClient,
  table: string,
  campaignId: string,
  from: Date,
  to: Date,
  stats: ReadStats,
): AsyncGenerator<ExportConversion & { conversionKey: string }> {
  const names: Record<string, string> = { '#c': 'campaignId', '#t': 'createdAt' };
  const projection = FIELDS.map((f, i) => {
    names[`#p${i}`] = f;
    return `#p${i}`;
  }).join(', ');
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(
      new QueryCommand({
        TableName: table,
        IndexName: 'byCampaign',
        KeyConditionExpression: '#c = :c AND #t BETWEEN :lo AND :hi',
        ProjectionExpression: projection,
        ExpressionAttributeNames: names,
        // BETWEEN is inclusive; one millisecond before `to` keeps the range half-open.
        ExpressionAttributeValues: { ':c': { S: campaignId }, ':lo': { S: from.toISOString() }, ':hi': { S: new Date(to.getTime() - 1).toISOString() } },
        ExclusiveStartKey: start,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    stats.queries++;
    stats.capacityUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
    for (const raw of out.Items ?? []) {
      stats.items++;
      const item = unmarshall(raw, { wrapNumbers: wrapStoredNumber }) as Record<string, unknown>;
      const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
      yield {
        clickId: String(item.clickId),
        conversionKey: String(item.conversionKey),
        type: String(item.type),
        revenue: decimalOf(item.revenue),
        currency: String(item.currency ?? ''),
        createdAt: String(item.createdAt),
        ...(text(item.channelId) !== undefined ? { channelId: String(item.channelId) } : {}),
        ...(text(item.channelClickId) !== undefined ? { channelClickId: String(item.channelClickId) } : {}),
      };
    }
    start = out.LastEvaluatedKey;
  } while (start);
}

/** Which parameter each conversion's click id came from (`channelClickIdParam`), 100 keys a call. */
export async function clickIdParamsOf(client: DynamoDBClient, table: string, keys: readonly { clickId: string; conversionKey: string }[], stats: ReadStats): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (let i = 0; i < keys.length; i += 100) {
    let request: Record<string, { Keys: Record<string, AttributeValue>[]; ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> }> | undefined = {
      [table]: {
        Keys: keys.slice(i, i + 100).map((k) => ({ clickId: { S: k.clickId }, conversionKey: { S: k.conversionKey } })),
        ProjectionExpression: '#c, #k, #p',
        ExpressionAttributeNames: { '#c': 'clickId', '#k': 'conversionKey', '#p': 'channelClickIdParam' },
      },
    };
    for (let tries = 0; request && Object.keys(request).length > 0 && tries < 10; tries++) {
      const out = await client.send(new BatchGetItemCommand({ RequestItems: request, ReturnConsumedCapacity: 'TOTAL' }));
      stats.queries++;
      stats.capacityUnits += (out.ConsumedCapacity ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      for (const item of out.Responses?.[table] ?? []) {
        const param = item.channelClickIdParam?.S;
        if (param !== undefined) found.set(`${item.clickId?.S ?? ''}|${item.conversionKey?.S ?? ''}`, param);
      }
      request = out.UnprocessedKeys as typeof request;
      if (request && Object.keys(request).length > 0) await new Promise((r) => setTimeout(r, 50 * (tries + 1)));
    }
  }
  return found;
}
