import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/** Every item's named attributes (paginated scan: fine for a test table). */
export async function scanKeys(client: DynamoDBClient, table: string, names: string[]): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  const attributeNames = Object.fromEntries(names.map((n, i) => [`#a${i}`, n]));
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ProjectionExpression: Object.keys(attributeNames).join(', '), ExpressionAttributeNames: attributeNames, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) out.push(Object.fromEntries(Object.entries(unmarshall(item)).map(([k, v]) => [k, String(v)])));
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}
