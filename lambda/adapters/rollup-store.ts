/**
 * The rollups table (table-definitions ROLLUPS_TABLE): rollup parts, the upkeep's state and
 * lease, and the marks. The parts of one campaign, kind and UTC day are ONE item (sort key the
 * day) with one binary column per dimension, its JSON compressed (raw deflate): a month's report
 * reads 30 items per campaign instead of 720, only the column it groups by, and value names that
 * repeat from hour to hour compress well, so items (and every read and write of them) are
 * several times smaller.
 */
import { randomUUID } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { clickKey } from './dynamodb-store';
import { markFromSortKey, markSortKey, type MarkKey, type RollupMark, type RollupMarks, type RollupState } from '../core/rollup-marks';
import type { UpkeepStore } from '../core/rollup-upkeep';
import {
  decodeClickPart,
  decodeConversionPart,
  encodeClickPart,
  encodeConversionPart,
  hourKey,
  type ClickGroup,
  type ClickPart,
  type ConversionPart,
  type RollupDimension,
  type StoredPart,
} from '../core/rollups';
import { queryItems, type ReadStats } from './report-source';
import type { RollupPartCache, StateStamp } from './rollup-part-cache';

export const STATE_KEY = { pk: '~state', sk: 'upkeep' } as const;
export const MARKS_PK = '~marks';

const GROUP_SUFFIX: Record<ClickGroup | 'conversions', string> = { main: 'm', subs: 's', conversions: 'v' };
export const partPk = (campaign: string, group: ClickGroup | 'conversions') => `${campaign}#${GROUP_SUFFIX[group]}`;

/** The stored bytes of a column (what its read and write units are counted on). */
export const packPart = (json: unknown): Uint8Array => deflateRawSync(Buffer.from(JSON.stringify(json), 'utf8'), { level: 9 });

/**
 * A day item holds one column per dimension (`x_campaign`, `x_offer`..., `x_sub3`) and, for
 * conversion parts, `x_ids` (each hour's cut and converted click ids): each the deflated JSON of
 * hour (`00`..`23`) -> that hour's entries. A report reads (and decodes) only the column it
 * groups by.
 */
const COLUMN_PREFIX = 'x_';
const IDS_COLUMN = 'ids';
type StoredHour = Record<string, unknown>;
type Columns = Record<string, Record<string, unknown>>;

/** An encoded part (core/rollups encode*Part) as its columns. */
function columnsOf(encoded: unknown): StoredHour {
  const { d, cut, ids, idsT } = encoded as { d: Record<string, unknown>; cut?: string; ids?: string[]; idsT?: string[] };
  return { ...d, ...(cut !== undefined ? { [IDS_COLUMN]: { cut, ids, idsT } } : {}) };
}

function unpackColumn(bytes: unknown): Record<string, unknown> {
  return unpackColumnText(bytes).json;
}

/** A column's JSON, and the length of its text (what the part cache counts). */
function unpackColumnText(bytes: unknown): { json: Record<string, unknown>; length: number } {
  if (!(bytes instanceof Uint8Array)) throw new Error('stored rollup column has no data');
  const text = inflateRawSync(bytes).toString('utf8');
  const o = JSON.parse(text) as unknown;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new Error('stored rollup column is malformed');
  return { json: o as Record<string, unknown>, length: text.length };
}

function readColumns(item: Record<string, AttributeValue> | undefined): Columns {
  const columns: Columns = {};
  for (const [name, value] of Object.entries(item ?? {})) {
    if (name.startsWith(COLUMN_PREFIX) && value.B) columns[name.slice(COLUMN_PREFIX.length)] = unpackColumn(value.B);
  }
  return columns;
}

/** `2026-11-25`: the sort key of a day item (UTC). */
const dayKey = (hour: number): string => hourKey(hour).slice(0, 10);
const DAY_MS = 86_400_000;
/** Reads of one partition a report makes around the part cache's days at most (else one read spans them). */
const MAX_GAP_READS = 4;
const nextDay = (day: string): string => dayKey(Date.parse(`${day}T00:00:00.000Z`) + DAY_MS);
/** Below DynamoDB's 400 KB item limit, with room for the keys. */
export const MAX_PART_BYTES = 390_000;

function conditionFailed(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException';
}

const num = (v: AttributeValue | undefined): number | undefined => (v?.N === undefined ? undefined : Number(v.N));

/** What the part cache needs of the state item: `runs` (one more each time a lease is taken) and the lease. */
export function stateStamp(item: Record<string, AttributeValue> | undefined): StateStamp {
  const leaseOwner = item?.leaseOwner?.S;
  return { runs: num(item?.runs) ?? 0, ...(leaseOwner !== undefined ? { leaseOwner } : {}) };
}

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
    /** The local server's memory of day items (adapters/rollup-part-cache): reports only. */
    private readonly cache?: RollupPartCache,
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
    this.cache?.sync(stateStamp(out.Item));
    return toState(out.Item);
  }

  /** Takes the lease (or finds it held); every lease taken adds one to `runs` (rollup-part-cache). */
  async acquire(owner: string, now: number, until: number): Promise<{ held: false; state: RollupState | undefined } | { held: true; until: number }> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(STATE_KEY.pk, STATE_KEY.sk),
          // leasePrev: whose lease this one replaced (`-`: none), for the part cache (a run that
          // outlived its lease may still be writing).
          UpdateExpression: 'SET leaseOwner = :o, leaseUntil = :u, leasePrev = if_not_exists(leaseOwner, :none) ADD runs :one',
          ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :o',
          ExpressionAttributeValues: { ':o': { S: owner }, ':u': { N: String(until) }, ':now': { N: String(now) }, ':one': { N: '1' }, ':none': { S: '-' } },
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

  /**
   * Gives the lease back (if still held), then adds one to `runs` whatever became of it: a run
   * that outlived its lease wrote after another took it, and a reader that kept what it read
   * meanwhile (rollup-part-cache) must forget it.
   */
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
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: this.key(STATE_KEY.pk, STATE_KEY.sk),
        UpdateExpression: 'ADD runs :one',
        ExpressionAttributeValues: { ':one': { N: '1' } },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
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

  /**
   * Replaces the given hours (undefined: removes them) in the day items they fall in, each day
   * read (consistently) and written once. Only the upkeep writes parts, under its lease, so
   * nothing writes a day item between this read and write.
   */
  private async putParts(pk: string, parts: ReadonlyMap<number, StoredHour | undefined>, expiresAt: (hour: number) => number): Promise<void> {
    const byDay = new Map<string, [number, StoredHour | undefined][]>();
    for (const [hour, stored] of parts) {
      const day = dayKey(hour);
      byDay.set(day, [...(byDay.get(day) ?? []), [hour, stored]]);
    }
    for (const [day, changes] of byDay) {
      const key = this.key(pk, day);
      const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
      const columns = readColumns(out.Item);
      for (const [hour, stored] of changes) {
        const h = hourKey(hour).slice(11);
        for (const column of Object.values(columns)) delete column[h];
        if (stored) for (const [name, value] of Object.entries(stored)) (columns[name] ??= {})[h] = value;
      }
      const attributes: Record<string, AttributeValue> = {};
      let bytes = 0;
      let last = '';
      for (const [name, column] of Object.entries(columns)) {
        const hours = Object.keys(column).sort();
        if (hours.length === 0) continue;
        if ((hours[hours.length - 1] as string) > last) last = hours[hours.length - 1] as string;
        const packed = packPart(Object.fromEntries(hours.map((k) => [k, column[k]])));
        bytes += packed.length + name.length + 2;
        attributes[`${COLUMN_PREFIX}${name}`] = { B: packed };
      }
      if (last === '') {
        if (out.Item) await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: key }));
        continue;
      }
      if (bytes > MAX_PART_BYTES) {
        throw new Error(`the rollup item ${pk} ${day} would be ${bytes} bytes, over DynamoDB's item limit: too many distinct values in a day (see docs/architecture.md, "Rollups")`);
      }
      // The item lives as long as its last hour's rollup must.
      const lastHour = Date.parse(`${day}T${last}:00:00.000Z`);
      await this.client.send(new PutItemCommand({ TableName: this.table, Item: { ...key, ...attributes, expiresAt: { N: String(expiresAt(lastHour)) } } }));
    }
  }

  putClickParts(campaignId: string, group: ClickGroup, parts: ReadonlyMap<number, ClickPart | undefined>, expiresAt: (hour: number) => number): Promise<void> {
    return this.putParts(partPk(campaignId, group), new Map([...parts].map(([h, p]) => [h, p && columnsOf(encodeClickPart(p))])), expiresAt);
  }

  putConversionParts(campaign: string, parts: ReadonlyMap<number, ConversionPart | undefined>, expiresAt: (hour: number) => number): Promise<void> {
    return this.putParts(partPk(campaign, 'conversions'), new Map([...parts].map(([h, p]) => [h, p && columnsOf(encodeConversionPart(p))])), expiresAt);
  }

  /**
   * The stored parts of the hours fromHour..toHour (both included), hour by hour, holding only
   * the given dimensions (only their columns are read and decoded), and the `extra` columns
   * (conversion parts: `ids`, each hour's cut and converted clicks).
   */
  private async *parts(pk: string, fromHour: number, toHour: number, dimensions: readonly RollupDimension[], extra: readonly string[], stats: ReadStats): AsyncGenerator<{ hour: number; json: Record<string, unknown> }> {
    if (toHour < fromHour) return;
    const wanted = [...dimensions, ...extra];
    for await (const { day, columns } of this.days(pk, dayKey(fromHour), dayKey(toHour), wanted, stats)) {
      const byHour = new Map<string, Record<string, unknown>>();
      for (const name of wanted) {
        const column = columns.get(name);
        if (!column) continue;
        for (const [h, value] of Object.entries(column)) {
          let json = byHour.get(h);
          if (!json) byHour.set(h, (json = {}));
          json[name] = value;
        }
      }
      for (const h of [...byHour.keys()].sort()) {
        const hour = Date.parse(`${day}T${h}:00:00.000Z`);
        if (Number.isFinite(hour) && hour >= fromHour && hour <= toHour) yield { hour, json: byHour.get(h) as Record<string, unknown> };
      }
    }
  }

  /**
   * The day items fromDay..toDay of pk that exist, in day order, as their `wanted` columns
   * unpacked. With the part cache: the days it holds from memory, the others read (a range
   * query per run of days it lacks) and kept.
   */
  private async *days(pk: string, fromDay: string, toDay: string, wanted: readonly string[], stats: ReadStats): AsyncGenerator<{ day: string; columns: ReadonlyMap<string, Readonly<Record<string, unknown>> | null> }> {
    const cache = this.cache;
    if (!cache) {
      for await (const { day, columns } of this.readDays(pk, fromDay, toDay, wanted, stats)) yield { day, columns: jsonOf(columns) };
      return;
    }
    const plan: { day: string; hit: ReadonlyMap<string, Readonly<Record<string, unknown>> | null> | undefined }[] = [];
    for (let day = fromDay; day <= toDay; day = nextDay(day)) plan.push({ day, hit: cache.get(pk, day, wanted) });
    // Days missing here and there (scattered rewrites, evictions) are read in one query from the
    // first to the last, not one query per gap.
    const gaps = plan.filter((p, i) => !p.hit && (i === 0 || (plan[i - 1] as (typeof plan)[number]).hit)).length;
    if (gaps > MAX_GAP_READS) {
      const first = plan.findIndex((p) => !p.hit);
      const last = plan.length - 1 - [...plan].reverse().findIndex((p) => !p.hit);
      for (let k = first; k <= last; k++) (plan[k] as (typeof plan)[number]).hit = undefined;
    }
    for (let i = 0; i < plan.length; ) {
      const { day, hit } = plan[i] as (typeof plan)[number];
      if (hit) {
        if ([...hit.values()].some((c) => c !== null)) yield { day, columns: hit };
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < plan.length && !(plan[j + 1] as (typeof plan)[number]).hit) j++;
      const last = (plan[j] as (typeof plan)[number]).day;
      // Taken before the read is sent: a write of pk that overlaps it keeps the read out of memory.
      const generation = cache.generation(pk);
      const seen = new Set<string>();
      for await (const found of this.readDays(pk, day, last, wanted, stats)) {
        seen.add(found.day);
        cache.put(pk, found.day, generation, found.columns);
        yield { day: found.day, columns: jsonOf(found.columns) };
      }
      for (let k = i; k <= j; k++) {
        const missing = (plan[k] as (typeof plan)[number]).day;
        if (!seen.has(missing)) cache.put(pk, missing, generation, undefined);
      }
      i = j + 1;
    }
  }

  /** One range query of pk's day items fromDay..toDay, each wanted column unpacked (null: not on the item). */
  private async *readDays(pk: string, fromDay: string, toDay: string, wanted: readonly string[], stats: ReadStats): AsyncGenerator<{ day: string; columns: Map<string, { json: Record<string, unknown> | null; bytes: number }> }> {
    const names: Record<string, string> = { '#pk': 'pk', '#sk': 'sk' };
    wanted.forEach((name, i) => (names[`#c${i}`] = `${COLUMN_PREFIX}${name}`));
    for await (const item of queryItems(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':pk': { S: pk }, ':lo': { S: fromDay }, ':hi': { S: toDay } },
        ProjectionExpression: ['#sk', ...wanted.map((_, i) => `#c${i}`)].join(', '),
      },
      stats,
    )) {
      const columns = new Map<string, { json: Record<string, unknown> | null; bytes: number }>();
      for (const name of wanted) {
        const bytes = item[`${COLUMN_PREFIX}${name}`];
        if (bytes === undefined) columns.set(name, { json: null, bytes: 0 });
        else {
          const { json, length } = unpackColumnText(bytes);
          columns.set(name, { json, bytes: length });
        }
      }
      yield { day: String(item.sk), columns };
    }
  }

  /** Click parts of one campaign and group for the hours fromHour..toHour (both included), in the given dimensions. */
  async *clickParts(campaignId: string, group: ClickGroup, fromHour: number, toHour: number, dimensions: readonly RollupDimension[], stats: ReadStats): AsyncGenerator<StoredPart<ClickPart>> {
    for await (const { hour, json } of this.parts(partPk(campaignId, group), fromHour, toHour, dimensions, [], stats)) {
      yield { hour, part: decodeClickPart({ v: 1, d: json }) };
    }
  }

  /** Conversion parts of a campaign (or `~unattributed`) for the hours fromHour..toHour, in the given dimensions. */
  async *conversionParts(campaign: string, fromHour: number, toHour: number, dimensions: readonly RollupDimension[], stats: ReadStats): AsyncGenerator<StoredPart<ConversionPart>> {
    for await (const { hour, json } of this.parts(partPk(campaign, 'conversions'), fromHour, toHour, dimensions, [IDS_COLUMN], stats)) {
      const { [IDS_COLUMN]: ids, ...d } = json;
      if (ids === undefined) throw new Error(`stored rollup part is malformed: ${campaign} ${hourKey(hour)} has no cut`);
      yield { hour, part: decodeConversionPart({ ...(ids as object), v: 1, d }) };
    }
  }
}

const jsonOf = (columns: ReadonlyMap<string, { json: Record<string, unknown> | null }>) => new Map([...columns].map(([name, c]) => [name, c.json]));

/**
 * The lander-click time (lpClickAt) of each stored click in `clickIds` (absent: no lander click,
 * or the click is gone). Strongly consistent BatchGetItem, 100 keys at a time, projected to the
 * keys and lpClickAt: the stream record of a lander click may be read right after its write.
 */
export async function landerClickTimes(client: DynamoDBClient, clicksTable: string, clickIds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < clickIds.length; i += 100) {
    let pending: Record<string, AttributeValue>[] = clickIds.slice(i, i + 100).map(clickKey);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`the lander clicks of ${pending.length} click(s) could not be read (throttled)`);
      if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      const res = await client.send(
        new BatchGetItemCommand({
          RequestItems: { [clicksTable]: { Keys: pending, ConsistentRead: true, ProjectionExpression: '#c, #lp', ExpressionAttributeNames: { '#c': 'clickId', '#lp': 'lpClickAt' } } },
        }),
      );
      for (const item of res.Responses?.[clicksTable] ?? []) {
        const id = item.clickId?.S;
        const at = item.lpClickAt?.S;
        if (id !== undefined && at !== undefined) out.set(id, at);
      }
      pending = res.UnprocessedKeys?.[clicksTable]?.Keys ?? [];
    }
  }
  return out;
}
