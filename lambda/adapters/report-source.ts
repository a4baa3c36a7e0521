import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { ReportClick, ReportConversion } from '../core/report';

async function* scan(
  client: DynamoDBClient,
  table: string,
  projection: string,
  names: Record<string, string>,
): AsyncGenerator<Record<string, unknown>> {
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(
      new ScanCommand({ TableName: table, ProjectionExpression: projection, ExpressionAttributeNames: names, ExclusiveStartKey: start }),
    );
    for (const item of out.Items ?? []) yield unmarshall(item);
    start = out.LastEvaluatedKey;
  } while (start);
}

/** Every click's campaign (paginated scan, campaign id only). */
export async function* reportClicks(client: DynamoDBClient, table: string): AsyncGenerator<ReportClick> {
  for await (const item of scan(client, table, '#c', { '#c': 'campaignId' })) {
    if (typeof item.campaignId === 'string') yield { campaignId: item.campaignId };
  }
}

/** Every conversion, projected to what the report needs. */
export async function* reportConversions(client: DynamoDBClient, table: string): AsyncGenerator<ReportConversion> {
  const names = { '#c': 'campaignId', '#t': 'type', '#n': 'counted', '#r': 'revenue', '#u': 'currency' };
  for await (const item of scan(client, table, '#c, #t, #n, #r, #u', names)) {
    yield {
      ...(typeof item.campaignId === 'string' ? { campaignId: item.campaignId } : {}),
      type: String(item.type),
      counted: item.counted === true,
      revenue: String(item.revenue ?? '0'),
      currency: String(item.currency ?? ''),
    };
  }
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
