/**
 * The rollups table (table-definitions ROLLUPS_TABLE): rollup parts, the upkeep's state and
 * lease, and the marks. A part is stored as its JSON compressed (raw deflate) in one binary
 * attribute: value names repeat from hour to hour, so this makes items (and every read and write
 * of them) several times smaller.
 */
import { randomUUID } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { markFromSortKey, markSortKey, type MarkKey, type RollupMark, type RollupMarks, type RollupState } from '../core/rollup-marks';
import type { UpkeepStore } from '../core/rollup-upkeep';
import {
  decodeClickPart,
  decodeConversionPart,
  encodeClickPart,
  encodeConversionPart,
  hourFromKey,
  hourKey,
  type ClickGroup,
  type ClickPart,
  type ConversionPart,
  type StoredPart,
} from '../core/rollups';
import { queryItems, type ReadStats } from './report-source';

export const STATE_KEY = { pk: '~state', sk: 'upkeep' } as const;
export const MARKS_PK = '~marks';

const GROUP_SUFFIX: Record<ClickGroup | 'conversions', string> = { main: 'm', subs: 's', conversions: 'v' };
export const partPk = (campaign: string, group: ClickGroup | 'conversions') => `${campaign}#${GROUP_SUFFIX[group]}`;

/** The stored bytes of a part (what its read and write units are counted on). */
export const packPart = (json: unknown): Uint8Array => deflateRawSync(Buffer.from(JSON.stringify(json), 'utf8'), { level: 9 });
const unpack = (bytes: unknown): unknown => {
  if (!(bytes instanceof Uint8Array)) throw new Error('stored rollup part has no data');
  return JSON.parse(inflateRawSync(bytes).toString('utf8'));
};

function conditionFailed(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException';
}

const num = (v: AttributeValue | undefined): number | undefined => (v?.N === undefined ? undefined : Number(v.N));

function toState(item: Record<string, AttributeValue> | undefined): RollupState | undefined {
  const since = num(item?.since);
  const closedUntil = num(item?.closedUntil);
  const cut = item?.cut?.S;
  if (since === undefined || closedUntil === undefined || cut === undefined) return undefined;
  return { since, closedUntil, cut };
}

export class DynamoRollupStore implements UpkeepStore, RollupMarks {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  private key(pk: string, sk: string): Record<string, AttributeValue> {
    return { pk: { S: pk }, sk: { S: sk } };
  }

  /** The upkeep's state (consistent), undefined before its first run. */
  async state(stats?: ReadStats): Promise<RollupState | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: this.key(STATE_KEY.pk, STATE_KEY.sk), ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
    );
    if (stats) {
      stats.queries++;
      stats.items += out.Item ? 1 : 0;
      stats.capacityUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
    }
    return toState(out.Item);
  }

  async acquire(owner: string, now: number, until: number): Promise<{ held: false; state: RollupState | undefined } | { held: true; until: number }> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(STATE_KEY.pk, STATE_KEY.sk),
          UpdateExpression: 'SET leaseOwner = :o, leaseUntil = :u',
          ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :o',
          ExpressionAttributeValues: { ':o': { S: owner }, ':u': { N: String(until) }, ':now': { N: String(now) } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { held: false, state: toState(out.Attributes) };
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: this.key(STATE_KEY.pk, STATE_KEY.sk), ConsistentRead: true }));
      return { held: true, until: num(out.Item?.leaseUntil) ?? now };
    }
  }

  async saveState(owner: string, state: RollupState): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(STATE_KEY.pk, STATE_KEY.sk),
          UpdateExpression: 'SET since = :s, closedUntil = :c, cut = :k',
          ConditionExpression: 'leaseOwner = :o',
          ExpressionAttributeValues: { ':s': { N: String(state.since) }, ':c': { N: String(state.closedUntil) }, ':k': { S: state.cut }, ':o': { S: owner } },
        }),
      );
    } catch (err) {
      if (conditionFailed(err)) throw new Error('the rollup upkeep lost its lease (a run took longer than its lease): nothing more is saved by this run');
      throw err;
    }
  }

  async release(owner: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(STATE_KEY.pk, STATE_KEY.sk),
          UpdateExpression: 'REMOVE leaseOwner, leaseUntil',
          ConditionExpression: 'leaseOwner = :o',
          ExpressionAttributeValues: { ':o': { S: owner } },
        }),
      );
    } catch (err) {
      if (!conditionFailed(err)) throw err;
    }
  }

  /** Every mark (one partition, a handful of items: marks are removed once acted on). */
  async marks(stats?: ReadStats): Promise<RollupMark[]> {
    const out: RollupMark[] = [];
    const own = stats ?? { queries: 0, items: 0, capacityUnits: 0 };
    for await (const item of queryItems(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ExpressionAttributeValues: { ':pk': { S: MARKS_PK } },
        ConsistentRead: true,
      },
      own,
    )) {
      const key = markFromSortKey(String(item.sk));
      // Numbers come back as their text (queryItems reads them exactly).
      const markedAt = Number((item.markedAt as { text?: unknown } | undefined)?.text);
      if (key && typeof item.version === 'string' && Number.isFinite(markedAt)) out.push({ ...key, version: item.version, markedAt });
    }
    return out;
  }

  async mark(keys: readonly MarkKey[]): Promise<void> {
    const at = String(this.now());
    const requests: { PutRequest: { Item: Record<string, AttributeValue> } }[] = keys.map((k) => ({
      PutRequest: { Item: { ...this.key(MARKS_PK, markSortKey(k)), version: { S: randomUUID() }, markedAt: { N: at } } },
    }));
    for (let i = 0; i < requests.length; i += 25) {
      let batch = requests.slice(i, i + 25);
      for (let attempt = 0; batch.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`could not write ${batch.length} rollup mark(s)`);
        if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
        const out = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: batch } }));
        batch = (out.UnprocessedItems?.[this.table] ?? []).flatMap((r) => (r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : []));
      }
    }
  }

  async deleteMark(mark: RollupMark): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: this.key(MARKS_PK, markSortKey(mark)),
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': { S: mark.version } },
        }),
      );
    } catch (err) {
      // Marked again since it was read: it stays for the next run.
      if (!conditionFailed(err)) throw err;
    }
  }

  private async putPart(pk: string, hour: number, json: unknown | undefined, expiresAt: number): Promise<void> {
    const key = this.key(pk, hourKey(hour));
    if (json === undefined) {
      await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: key }));
      return;
    }
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: { ...key, d: { B: packPart(json) }, expiresAt: { N: String(expiresAt) } } }));
  }

  putClickPart(campaignId: string, group: ClickGroup, hour: number, part: ClickPart | undefined, expiresAt: number): Promise<void> {
    return this.putPart(partPk(campaignId, group), hour, part && encodeClickPart(part), expiresAt);
  }

  putConversionPart(campaign: string, hour: number, part: ConversionPart | undefined, expiresAt: number): Promise<void> {
    return this.putPart(partPk(campaign, 'conversions'), hour, part && encodeConversionPart(part), expiresAt);
  }

  private async *parts(pk: string, fromHour: number, toHour: number, stats: ReadStats): AsyncGenerator<{ hour: number; json: unknown }> {
    if (toHour < fromHour) return;
    for await (const item of queryItems(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#d': 'd' },
        ExpressionAttributeValues: { ':pk': { S: pk }, ':lo': { S: hourKey(fromHour) }, ':hi': { S: hourKey(toHour) } },
        ProjectionExpression: '#sk, #d',
      },
      stats,
    )) {
      yield { hour: hourFromKey(String(item.sk)), json: unpack(item.d) };
    }
  }

  /** Click parts of one campaign and group for the hours fromHour..toHour (both included). */
  async *clickParts(campaignId: string, group: ClickGroup, fromHour: number, toHour: number, stats: ReadStats): AsyncGenerator<StoredPart<ClickPart>> {
    for await (const { hour, json } of this.parts(partPk(campaignId, group), fromHour, toHour, stats)) yield { hour, part: decodeClickPart(json) };
  }

  /** Conversion parts of a campaign (or `~unattributed`) for the hours fromHour..toHour. */
  async *conversionParts(campaign: string, fromHour: number, toHour: number, stats: ReadStats): AsyncGenerator<StoredPart<ConversionPart>> {
    for await (const { hour, json } of this.parts(partPk(campaign, 'conversions'), fromHour, toHour, stats)) yield { hour, part: decodeConversionPart(json) };
  }
}
