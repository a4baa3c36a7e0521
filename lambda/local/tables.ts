import { CreateTableCommand, DescribeTableCommand, ResourceInUseException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
      if (out.Table?.TableStatus === 'ACTIVE') break;
      if (i > 200) throw new Error(`table ${names[def.id]} did not become ACTIVE`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
