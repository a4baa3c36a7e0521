/**
 * Imported ad spend (core/spend) in the rollups table: partition `<campaignId>#spend`, sort key
 * `<day>|<[sub1,sub2,sub3] as JSON>`, the amount as a DynamoDB number written from its exact
 * decimal text. For each campaign and day a file names, its rows replace what was stored for that
 * campaign and day (rows the file no longer has are deleted), so importing a file twice, or a
 * corrected one, never adds up.
 */
import { BatchWriteItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { SpendRow } from '../core/spend';
import { queryItems, newStats, type ReadStats } from './report-source';
import { decimalOf } from './stored-number';

export const spendPk = (campaignId: string) => `${campaignId}#spend`;
export const spendSk = (r: Pick<SpendRow, 'day' | 'sub1' | 'sub2' | 'sub3'>) => `${r.day}|${JSON.stringify([r.sub1 ?? null, r.sub2 ?? null, r.sub3 ?? null])}`;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function toRow(item: Record<string, unknown>): SpendRow | undefined {
  const campaignId = str(item.campaignId);
  const day = str(item.day);
  const currency = str(item.currency);
  if (campaignId === undefined || day === undefined || currency === undefined) return undefined;
  return {
    campaignId,
    day,
    ...(str(item.sub1) !== undefined ? { sub1: str(item.sub1) } : {}),
    ...(str(item.sub2) !== undefined ? { sub2: str(item.sub2) } : {}),
    ...(str(item.sub3) !== undefined ? { sub3: str(item.sub3) } : {}),
    amount: decimalOf(item.amount),
    currency,
  };
}

/** Spend of a campaign for the days fromDay..toDay (inclusive), one Query. */
export async function readSpend(client: DynamoDBClient, table: string, campaignId: string, fromDay: string, toDay: string, stats: ReadStats = newStats()): Promise<SpendRow[]> {
  const rows: SpendRow[] = [];
  for await (const item of queryItems(
    client,
    {
      TableName: table,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      // `|` sorts after digits and `-`, `}` after every character a sort key here can have next.
      ExpressionAttributeValues: { ':pk': { S: spendPk(campaignId) }, ':lo': { S: `${fromDay}|` }, ':hi': { S: `${toDay}|\u{10FFFF}` } },
    },
    stats,
  )) {
    const row = toRow(item);
    if (row) rows.push(row);
  }
  return rows;
}

async function batchWrite(client: DynamoDBClient, table: string, requests: WriteRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let batch = requests.slice(i, i + 25);
    for (let attempt = 0; batch.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`${batch.length} spend item(s) could not be written (throttled); run the import again: it replaces, never adds`);
      if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: batch } }));
      batch = out.UnprocessedItems?.[table] ?? [];
    }
  }
}

export interface ImportResult {
  /** Rows written (new or replaced). */
  written: number;
  /** Rows of the same campaigns and days that the file no longer has, deleted. */
  removed: number;
  /** Campaign and day pairs the file covered. */
  days: number;
}

/**
 * Stores validated rows (core/spend parseSpendCsv): per campaign and day, the file's rows become
 * the stored ones. `file` is kept with each row (where it came from).
 */
export async function importSpend(client: DynamoDBClient, table: string, rows: readonly SpendRow[], file: string, now: Date = new Date()): Promise<ImportResult> {
  const scopes = new Map<string, { campaignId: string; day: string }>();
  for (const r of rows) scopes.set(`${r.campaignId}\u0000${r.day}`, { campaignId: r.campaignId, day: r.day });
  const keep = new Set(rows.map((r) => `${spendPk(r.campaignId)}\u0000${spendSk(r)}`));
  const deletes: WriteRequest[] = [];
  for (const { campaignId, day } of scopes.values()) {
    for (const old of await readSpend(client, table, campaignId, day, day)) {
      const id = `${spendPk(campaignId)}\u0000${spendSk(old)}`;
      if (!keep.has(id)) deletes.push({ DeleteRequest: { Key: { pk: { S: spendPk(campaignId) }, sk: { S: spendSk(old) } } } });
    }
  }
  const puts: WriteRequest[] = rows.map((r) => {
    const item: Record<string, AttributeValue> = {
      pk: { S: spendPk(r.campaignId) },
      sk: { S: spendSk(r) },
      campaignId: { S: r.campaignId },
      day: { S: r.day },
      amount: { N: r.amount },
      currency: { S: r.currency },
      importedAt: { S: now.toISOString() },
      file: { S: file.slice(0, 255) },
    };
    for (const s of ['sub1', 'sub2', 'sub3'] as const) if (r[s] !== undefined) item[s] = { S: r[s] as string };
    return { PutRequest: { Item: item } };
  });
  await batchWrite(client, table, [...puts, ...deletes]);
  // One more on the upkeep state's `runs`: a reader that keeps spend it read (the local server's
  // part cache, adapters/rollup-part-cache) forgets it.
  await client.send(
    new UpdateItemCommand({ TableName: table, Key: { pk: { S: '~state' }, sk: { S: 'upkeep' } }, UpdateExpression: 'ADD runs :one', ExpressionAttributeValues: { ':one': { N: '1' } }, ReturnValues: 'UPDATED_NEW' }),
  );
  return { written: puts.length, removed: deletes.length, days: scopes.size };
}
