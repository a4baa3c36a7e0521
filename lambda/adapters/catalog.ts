/**
 * The catalog table: every campaign ever deployed (and when it was retired from the config) and
 * the history of `clickRetentionDays`. Written by the deploy-time sync (and `npm start`), read
 * by reports, which need to know campaigns the config no longer lists and which clicks may have
 * expired. Never on a request path.
 */
import { PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { RetentionEra } from '../core/report';

export const CATALOG_KIND = { campaign: 'campaign', setting: 'setting' } as const;
/** `id` of the setting item that holds the click retention history. */
export const CLICK_RETENTION_ID = 'clickRetention';

export interface CatalogCampaign {
  id: string;
  name?: string;
  /** When a deploy (or `npm start`) first saw it in the config. */
  firstDeployedAt: string;
  /** When a deploy first ran without it; absent while it is in the config. */
  retiredAt?: string;
}

export interface Catalog {
  campaigns: CatalogCampaign[];
  /** Oldest first; empty when nothing was ever recorded. */
  retention: RetentionEra[];
}

export interface CatalogInput {
  campaigns: readonly { id: string; name: string }[];
  clickRetentionDays: number;
}

export interface CatalogSyncResult {
  added: string[];
  retired: string[];
  /** Retired earlier, back in the config now. */
  restored: string[];
  unchanged: string[];
  retention: 'recorded' | 'changed' | 'unchanged';
}

async function queryKind(client: DynamoDBClient, table: string, kind: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#k = :k',
        ExpressionAttributeNames: { '#k': 'kind' },
        ExpressionAttributeValues: { ':k': { S: kind } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(out.Items ?? []).map((i) => unmarshall(i)));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function toCampaign(item: Record<string, unknown>): CatalogCampaign | undefined {
  const id = str(item.id);
  const firstDeployedAt = str(item.firstDeployedAt);
  if (id === undefined || firstDeployedAt === undefined) return undefined;
  const name = str(item.name);
  const retiredAt = str(item.retiredAt);
  return { id, firstDeployedAt, ...(name !== undefined ? { name } : {}), ...(retiredAt !== undefined ? { retiredAt } : {}) };
}

function toHistory(item: Record<string, unknown> | undefined): RetentionEra[] {
  const history = item?.history;
  if (!Array.isArray(history)) return [];
  return history
    .map((e: unknown) => (e !== null && typeof e === 'object' ? (e as Record<string, unknown>) : {}))
    .filter((e) => typeof e.days === 'number' && typeof e.since === 'string')
    .map((e) => ({ days: e.days as number, since: e.since as string }))
    .sort((a, b) => a.since.localeCompare(b.since));
}

async function put(client: DynamoDBClient, table: string, item: Record<string, unknown>): Promise<void> {
  await client.send(new PutItemCommand({ TableName: table, Item: marshall(item, { removeUndefinedValues: true }) }));
}

/**
 * Makes the catalog reflect the config being deployed: new campaigns are added, campaigns no
 * longer in the config are marked retired (once: the first deploy without them), returning ones
 * lose the mark; a changed click retention is appended to the history. Writes nothing when
 * nothing changed. Deploys of one stack never run concurrently, so plain puts suffice.
 */
export async function syncCatalog(client: DynamoDBClient, table: string, input: CatalogInput, now: Date = new Date()): Promise<CatalogSyncResult> {
  const at = now.toISOString();
  const stored = new Map<string, CatalogCampaign>();
  for (const item of await queryKind(client, table, CATALOG_KIND.campaign)) {
    const campaign = toCampaign(item);
    if (campaign) stored.set(campaign.id, campaign);
  }
  const result: CatalogSyncResult = { added: [], retired: [], restored: [], unchanged: [], retention: 'unchanged' };
  const wanted = new Set<string>();
  for (const { id, name } of input.campaigns) {
    wanted.add(id);
    const current = stored.get(id);
    if (!current) {
      await put(client, table, { kind: CATALOG_KIND.campaign, id, name, firstDeployedAt: at });
      result.added.push(id);
    } else if (current.retiredAt !== undefined || current.name !== name) {
      await put(client, table, { kind: CATALOG_KIND.campaign, id, name, firstDeployedAt: current.firstDeployedAt });
      (current.retiredAt !== undefined ? result.restored : result.unchanged).push(id);
    } else {
      result.unchanged.push(id);
    }
  }
  for (const current of stored.values()) {
    if (wanted.has(current.id) || current.retiredAt !== undefined) continue;
    await put(client, table, { kind: CATALOG_KIND.campaign, ...current, retiredAt: at });
    result.retired.push(current.id);
  }

  const setting = (await queryKind(client, table, CATALOG_KIND.setting)).find((i) => i.id === CLICK_RETENTION_ID);
  const history = toHistory(setting);
  const last = history[history.length - 1];
  if (last?.days !== input.clickRetentionDays) {
    const next = [...history, { days: input.clickRetentionDays, since: at }];
    await put(client, table, {
      kind: CATALOG_KIND.setting,
      id: CLICK_RETENTION_ID,
      days: input.clickRetentionDays,
      maxDays: Math.max(...next.map((e) => e.days)),
      history: next,
    });
    result.retention = last === undefined ? 'recorded' : 'changed';
  }
  return result;
}

/**
 * The catalog as reports read it; undefined when the table does not exist (a local data
 * directory from before the catalog: the next `npm start` creates it).
 */
export async function readCatalog(client: DynamoDBClient, table: string): Promise<Catalog | undefined> {
  try {
    const campaigns = (await queryKind(client, table, CATALOG_KIND.campaign)).map(toCampaign).filter((c): c is CatalogCampaign => c !== undefined);
    const setting = (await queryKind(client, table, CATALOG_KIND.setting)).find((i) => i.id === CLICK_RETENTION_ID);
    return { campaigns: campaigns.sort((a, b) => a.id.localeCompare(b.id)), retention: toHistory(setting) };
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}
