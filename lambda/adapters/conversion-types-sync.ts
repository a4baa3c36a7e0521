import {
  BatchWriteItemCommand,
  ScanCommand,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ConversionType } from '../../config/schema';

export interface SyncResult {
  created: string[];
  updated: string[];
  deleted: string[];
  unchanged: string[];
}

/** The stored form of a conversion type: the config entry, nothing more. */
function toItem(type: ConversionType): Record<string, unknown> {
  return {
    name: type.name,
    countsAsConversion: type.countsAsConversion,
    revenue: type.revenue,
    forwardToChannel: type.forwardToChannel,
  };
}

function sameType(stored: Record<string, unknown>, wanted: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(stored), ...Object.keys(wanted)]);
  for (const key of keys) if (stored[key] !== wanted[key]) return false;
  return true;
}

/**
 * Makes the conversion-types table equal to the config: creates new types, updates changed
 * ones, deletes those removed from the config, and writes nothing when nothing changed.
 * Used by `npm start` and by the deploy-time custom resource.
 */
export async function syncConversionTypes(
  client: DynamoDBClient,
  tableName: string,
  types: readonly ConversionType[],
): Promise<SyncResult> {
  const stored = new Map<string, Record<string, unknown>>();
  let startKey: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey, ConsistentRead: true }));
    for (const item of page.Items ?? []) {
      const value = unmarshall(item);
      if (typeof value.name === 'string') stored.set(value.name, value);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);

  const result: SyncResult = { created: [], updated: [], deleted: [], unchanged: [] };
  const writes: WriteRequest[] = [];
  const wantedNames = new Set<string>();
  for (const type of types) {
    wantedNames.add(type.name);
    const item = toItem(type);
    const current = stored.get(type.name);
    if (current && sameType(current, item)) {
      result.unchanged.push(type.name);
      continue;
    }
    (current ? result.updated : result.created).push(type.name);
    writes.push({ PutRequest: { Item: marshall(item) } });
  }
  for (const name of stored.keys()) {
    if (wantedNames.has(name)) continue;
    result.deleted.push(name);
    writes.push({ DeleteRequest: { Key: marshall({ name }) } });
  }

  for (let i = 0; i < writes.length; i += 25) {
    let pending: WriteRequest[] = writes.slice(i, i + 25);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === 8) throw new Error(`conversion types sync: ${pending.length} writes still unprocessed after retries`);
      if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
      pending = out.UnprocessedItems?.[tableName] ?? [];
    }
  }
  return result;
}
