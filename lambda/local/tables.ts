import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ScanCommand,
  type AttributeValue,
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
    deadLetterLedger: `${prefix}-deadLetterLedger`,
    deadLetterArchive: `${prefix}-deadLetterArchive`,
    ipKeys: `${prefix}-ipKeys`,
  };
}

/** Creates any missing table from the shared definitions and waits until all are ACTIVE. */
export async function ensureTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  for (const def of TABLE_DEFINITIONS) {
    try {
      await client.send(new CreateTableCommand(createTableInput(def, names[def.id])));
    } catch (err) {
      if (!(err instanceof ResourceInUseException) && (err as Error).name !== 'ResourceInUseException') throw err;
    }
  }
  for (const def of TABLE_DEFINITIONS) {
    for (let i = 0; ; i++) {
      const out = await client.send(new DescribeTableCommand({ TableName: names[def.id] }));
      const want = createTableInput(def, names[def.id]).KeySchema.map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
      const have = (out.Table?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
      if (have !== want) {
        throw new Error(
          `local table ${names[def.id]} has the key schema of an older Clickvault (${have}, now ${want}): ` +
            'move or delete the data directory (TRACKER_DATA_DIR, default .data) and start again',
        );
      }
      if (out.Table?.TableStatus === 'ACTIVE') {
        const indexes = new Set((out.Table.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName));
        const missing = def.globalIndexes.filter((g) => !indexes.has(g.indexName)).map((g) => g.indexName);
        if (missing.length > 0) await rebuildWithIndexes(client, def, names[def.id], missing);
        break;
      }
      if (i > 200) throw new Error(`table ${names[def.id]} did not become ACTIVE`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

async function waitFor(client: DynamoDBClient, table: string, gone: boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      const out = await client.send(new DescribeTableCommand({ TableName: table }));
      if (!gone && out.Table?.TableStatus === 'ACTIVE') return;
    } catch (err) {
      if (gone && (err instanceof ResourceNotFoundException || (err as Error).name === 'ResourceNotFoundException')) return;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`table ${table} did not become ${gone ? 'deleted' : 'ACTIVE'}`);
}

/**
 * A local table made by an older Clickvault lacks an index added since (the local DynamoDB cannot
 * add one to an existing table, unlike AWS, where the deploy does): copy its items to a backup
 * file, create the table again from the definition, and put every item back.
 */
async function rebuildWithIndexes(client: DynamoDBClient, def: TableDefinition, table: string, missing: string[]): Promise<void> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  const backup = join(tmpdir(), `clickvault-${table}-${Date.now()}.json`);
  writeFileSync(backup, JSON.stringify(items));
  process.stderr.write(`Local table ${table} gets its new index ${missing.join(', ')}: ${items.length} item(s) copied to ${backup} and back.\n`);
  await client.send(new DeleteTableCommand({ TableName: table }));
  await waitFor(client, table, true);
  await client.send(new CreateTableCommand(createTableInput(def, table)));
  await waitFor(client, table, false);
  for (let i = 0; i < items.length; i += 25) {
    let request: Record<string, { PutRequest: { Item: Record<string, AttributeValue> } }[]> | undefined = {
      [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
    };
    for (let tries = 0; request && Object.keys(request).length > 0; tries++) {
      if (tries > 20) throw new Error(`could not put the items of ${table} back; they are in ${backup}`);
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: request }));
      request = out.UnprocessedItems as typeof request;
    }
  }
}
