import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ScanCommand,
  type AttributeValue,
  type DescribeTableCommandOutput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { TABLE_DEFINITIONS, createTableInput, type TableDefinition } from '../adapters/table-definitions';

export type TableNames = Record<TableDefinition['id'], string>;

/** Local table names: `<prefix>-clicks`, `<prefix>-conversions`, `<prefix>-conversionTypes`. */
export function localTableNames(prefix = 'clickvault'): TableNames {
  return {
    clicks: `${prefix}-clicks`,
    conversions: `${prefix}-conversions`,
    conversionTypes: `${prefix}-conversionTypes`,
    inbound: `${prefix}-inbound`,
    catalog: `${prefix}-catalog`,
    rollups: `${prefix}-rollups`,
    deadLetterLedger: `${prefix}-deadLetterLedger`,
    deadLetterArchive: `${prefix}-deadLetterArchive`,
    ipKeys: `${prefix}-ipKeys`,
  };
}

async function waitActive(client: DynamoDBClient, name: string): Promise<DescribeTableCommandOutput> {
  for (let i = 0; ; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: name }));
    if (out.Table?.TableStatus === 'ACTIVE') return out;
    if (i > 400) throw new Error(`table ${name} did not become ACTIVE`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function createIfMissing(client: DynamoDBClient, def: TableDefinition, name: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(createTableInput(def, name)));
  } catch (err) {
    if (!(err instanceof ResourceInUseException) && (err as Error).name !== 'ResourceInUseException') throw err;
  }
}

async function scanAll(client: DynamoDBClient, name: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(new ScanCommand({ TableName: name, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

async function writeAll(client: DynamoDBClient, name: string, items: Record<string, AttributeValue>[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 20) throw new Error(`could not write ${requests.length} items back into ${name}`);
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [name]: requests } }));
      requests = (out.UnprocessedItems?.[name] ?? []).flatMap((r) => (r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : []));
    }
  }
}

/**
 * A local table made by an older Clickvault that lacks an index this one defines (the embedded
 * store cannot add an index to a table): its items are copied to a backup table, the table is
 * made again with every index, the items go back, the backup is dropped. A crash in between
 * leaves the backup table (`<name>-backup`), which the next start copies back first.
 */
async function addMissingIndexes(client: DynamoDBClient, def: TableDefinition, name: string, log: (message: string) => void): Promise<void> {
  const backup = `${name}-backup`;
  const exists = async (table: string) => {
    try {
      await client.send(new DescribeTableCommand({ TableName: table }));
      return true;
    } catch (err) {
      if ((err as Error).name === 'ResourceNotFoundException') return false;
      throw err;
    }
  };
  const want = def.globalIndexes.map((i) => i.indexName).sort();
  const describe = await waitActive(client, name);
  const have = (describe.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName ?? '').sort();
  const leftover = await exists(backup);
  if (!leftover && want.every((w) => have.includes(w))) return;
  if (!leftover) {
    log(`local table ${name}: adding the index(es) ${want.filter((w) => !have.includes(w)).join(', ')} (copying its items through ${backup})`);
    await client.send(new CreateTableCommand(createTableInput(def, backup)));
    await waitActive(client, backup);
    await writeAll(client, backup, await scanAll(client, name));
  }
  await client.send(new DeleteTableCommand({ TableName: name }));
  for (let i = 0; await exists(name); i++) {
    if (i > 400) throw new Error(`table ${name} was not deleted`);
    await new Promise((r) => setTimeout(r, 25));
  }
  await createIfMissing(client, def, name);
  await waitActive(client, name);
  await writeAll(client, name, await scanAll(client, backup));
  await client.send(new DeleteTableCommand({ TableName: backup }));
}

/** Creates any missing table from the shared definitions and waits until all are ACTIVE. */
export async function ensureTables(client: DynamoDBClient, names: TableNames, log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<void> {
  for (const def of TABLE_DEFINITIONS) await createIfMissing(client, def, names[def.id]);
  for (const def of TABLE_DEFINITIONS) {
    const out = await waitActive(client, names[def.id]);
    const want = createTableInput(def, names[def.id]).KeySchema.map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
    const have = (out.Table?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
    if (have !== want) {
      throw new Error(
        `local table ${names[def.id]} has the key schema of an older Clickvault (${have}, now ${want}): ` +
          'move or delete the data directory (TRACKER_DATA_DIR, default .data) and start again',
      );
    }
    if (def.globalIndexes.length > 0) await addMissingIndexes(client, def, names[def.id], log);
  }
}
