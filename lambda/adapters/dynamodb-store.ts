/**
 * DynamoDB implementations of the core's ports. Every write is a single conditional PutItem:
 * dynalite (used locally and in tests) has no transactions, and none are needed.
 *
 * A conditional write whose answer is lost (a connection reset after DynamoDB applied it) is
 * retried by the SDK, and the retry fails its own condition. So conversion puts and forward
 * claims carry a token of this request in the item; when the condition fails, the item is
 * read back (from the error with ReturnValuesOnConditionCheckFailure ALL_OLD, or with a
 * consistent GetItem where the store does not return it, as dynalite does not) and a write
 * that carries our own token is ours: "stored", "claimed" — not a duplicate.
 */
import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { clickPartition } from '../core/ids';
import { CALL_BUDGETS, boundToDeadline, sdkClientConfig, type CallBudget } from './aws-clients';
import type { ConversionType } from '../../config/schema';
import {
  SUB_COUNT,
  type ClickReader,
  type ClickRecord,
  type ClickStore,
  type ConversionRecord,
  type ConversionStore,
  type ConversionTypeSource,
  type ForwardStore,
  type InboundEntry,
  type InboundLog,
  type LanderClick,
  type LanderClickResult,
  type LanderClickStore,
  type PutConversionResult,
  type PutResult,
  type SubKey,
  TEST_CAMPAIGN_PREFIX,
} from '../core/model';

/**
 * A client for AWS, or for a local endpoint (dynalite): `endpoint`, else DYNAMODB_ENDPOINT.
 * Every call is bounded by `budget` (per attempt, attempts, per call) and by the request's
 * deadline (adapters/aws-clients). Without a budget: the functions' request-path budget —
 * unless an endpoint is passed in, which is the local run's or a test's embedded dynalite, whose
 * latency under a burst is its own queue in our process (CALL_BUDGETS.embedded).
 */
export function createDynamoClient(endpoint?: string, budget?: CallBudget): DynamoDBClient {
  const target = endpoint ?? process.env.DYNAMODB_ENDPOINT;
  const bounded = budget ?? (endpoint !== undefined ? CALL_BUDGETS.embedded : CALL_BUDGETS.dynamodb);
  const config = sdkClientConfig(bounded);
  const client = target
    ? new DynamoDBClient({
        ...config,
        endpoint: target,
        region: process.env.AWS_REGION ?? 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      })
    : new DynamoDBClient(config);
  return boundToDeadline(client, 'DynamoDB', bounded);
}

/** Flattens a click into its item: subs become top-level sub1..sub20 so indexes can project them. */
export function clickToItem(click: ClickRecord): Record<string, AttributeValue> {
  const { subs, ...rest } = click;
  return marshall({ pk: clickPartition(click.clickId), ...rest, ...subs }, { removeUndefinedValues: true });
}

export function clickKey(clickId: string): Record<string, AttributeValue> {
  return { pk: { S: clickPartition(clickId) }, clickId: { S: clickId } };
}

export function itemToClick(item: Record<string, AttributeValue>): ClickRecord {
  const raw = unmarshall(item);
  delete raw.pk;
  const subs: Partial<Record<SubKey, string>> = {};
  for (let i = 1; i <= SUB_COUNT; i++) {
    const value = raw[`sub${i}`];
    if (typeof value === 'string') subs[`sub${i}`] = value;
    delete raw[`sub${i}`];
  }
  return { ...(raw as Omit<ClickRecord, 'subs'>), subs };
}

export function conversionToItem(conversion: ConversionRecord, writeToken?: string): Record<string, AttributeValue> {
  const { revenue, ...rest } = conversion;
  // Test conversions are indexed apart from their campaign (reports skip them unread).
  if (rest.test && rest.campaignId !== undefined) rest.campaignId = `${TEST_CAMPAIGN_PREFIX}${rest.campaignId}`;
  // Revenue is stored as a DynamoDB number from its exact decimal text.
  return { ...marshall({ ...rest, ...(writeToken !== undefined ? { writeToken } : {}) }, { removeUndefinedValues: true }), revenue: { N: revenue } };
}

/** Attributes of a conversion item that belong to the store, not to the record. */
const STORE_ATTRIBUTES = ['writeToken', 'forwardClaimToken'] as const;

/** The record an item holds; revenue as its exact decimal text (never through a float). */
export function itemToConversion(item: Record<string, AttributeValue>): ConversionRecord {
  const { revenue, ...rest } = item;
  const raw = unmarshall(rest) as Record<string, unknown>;
  for (const name of STORE_ATTRIBUTES) delete raw[name];
  if (typeof raw.campaignId === 'string' && raw.campaignId.startsWith(TEST_CAMPAIGN_PREFIX)) raw.campaignId = raw.campaignId.slice(TEST_CAMPAIGN_PREFIX.length);
  return { ...(raw as Omit<ConversionRecord, 'revenue'>), revenue: revenue?.N ?? '0' };
}

function conditionFailed(err: unknown): err is ConditionalCheckFailedException {
  return err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException';
}

async function conditionalPut(client: DynamoDBClient, input: ConstructorParameters<typeof PutItemCommand>[0]): Promise<PutResult> {
  try {
    await client.send(new PutItemCommand(input));
    return 'stored';
  } catch (err) {
    if (conditionFailed(err)) return 'duplicate';
    throw err;
  }
}

export class DynamoClickStore implements ClickStore, ClickReader, LanderClickStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  putClick(click: ClickRecord): Promise<PutResult> {
    return conditionalPut(this.client, {
      TableName: this.tableName,
      Item: clickToItem(click),
      ConditionExpression: 'attribute_not_exists(clickId)',
    });
  }

  /**
   * One conditional UpdateItem: sets lpClickAt and offerId when the click exists and has no
   * lander click yet, returning the click as updated (ALL_NEW: part of the write, no read unit).
   * When the condition fails the item comes back with the error (ALL_OLD), or — where the store
   * does not return it, as dynalite does not — from one consistent GetItem: none means the click
   * is not stored (yet). A failure that finds exactly this lander click (same time and offer)
   * is this call's own earlier attempt whose answer was lost: recorded, not a repeat.
   */
  async recordLanderClick(landerClick: LanderClick): Promise<LanderClickResult> {
    const key = clickKey(landerClick.clickId);
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET #lp = :at, #offer = :offer',
          ConditionExpression: 'attribute_exists(#id) AND attribute_not_exists(#lp)',
          ExpressionAttributeNames: { '#lp': 'lpClickAt', '#offer': 'offerId', '#id': 'clickId' },
          ExpressionAttributeValues: { ':at': { S: landerClick.at }, ':offer': { S: landerClick.offerId } },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { status: 'recorded', click: itemToClick(out.Attributes ?? { ...key, lpClickAt: { S: landerClick.at }, offerId: { S: landerClick.offerId } }) };
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      const item = err.Item ?? (await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }))).Item;
      if (!item || item.clickId === undefined) return { status: 'not_found' };
      const click = itemToClick(item);
      if (click.lpClickAt === landerClick.at && click.offerId === landerClick.offerId) return { status: 'recorded', click };
      return { status: 'repeat', click };
    }
  }

  async getClick(clickId: string): Promise<ClickRecord | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: clickKey(clickId), ConsistentRead: true }),
    );
    return out.Item ? itemToClick(out.Item) : undefined;
  }
}

export class DynamoConversionStore implements ConversionStore, ForwardStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async putConversion(conversion: ConversionRecord, writeToken: string = randomUUID()): Promise<PutConversionResult> {
    const key = { clickId: { S: conversion.clickId }, conversionKey: { S: conversion.conversionKey } };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: conversionToItem(conversion, writeToken),
          ConditionExpression: 'attribute_not_exists(clickId)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { status: 'stored' };
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      const item = err.Item ?? (await this.read(key));
      // Deleted between the failed condition and the read: nothing to compare, so let the
      // caller retry (it queues the request for replay).
      if (!item) throw new Error(`conversion ${conversion.clickId} ${conversion.conversionKey} existed, then could not be read back`);
      if (item.writeToken?.S === writeToken) return { status: 'stored' };
      return { status: 'duplicate', stored: itemToConversion(item) };
    }
  }

  private async read(key: Record<string, AttributeValue>): Promise<Record<string, AttributeValue> | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return out.Item;
  }

  /** One stored conversion (a consistent read), or undefined. */
  async getConversion(clickId: string, conversionKey: string): Promise<ConversionRecord | undefined> {
    const item = await this.read({ clickId: { S: clickId }, conversionKey: { S: conversionKey } });
    return item ? itemToConversion(item) : undefined;
  }

  async claimForward(clickId: string, conversionKey: string, from: 'new' | 'failed', at: string): Promise<boolean> {
    const key = { clickId: { S: clickId }, conversionKey: { S: conversionKey } };
    const token = randomUUID();
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET forwardState = :sending, forwardClaimedAt = :at, forwardClaimToken = :token',
          ConditionExpression:
            from === 'new' ? 'attribute_exists(clickId) AND attribute_not_exists(forwardState)' : 'forwardState = :failed',
          ExpressionAttributeValues: {
            ':sending': { S: 'sending' },
            ':at': { S: at },
            ':token': { S: token },
            ...(from === 'failed' ? { ':failed': { S: 'failed' } } : {}),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      // Our own claim, applied before its answer was lost: still ours to send.
      const item = err.Item ?? (await this.read(key));
      return item?.forwardState?.S === 'sending' && item.forwardClaimToken?.S === token;
    }
  }

  async finishForward(clickId: string, conversionKey: string, state: 'sent' | 'failed', at: string, detail?: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { clickId: { S: clickId }, conversionKey: { S: conversionKey } },
        UpdateExpression: detail === undefined ? 'SET forwardState = :state, forwardedAt = :at REMOVE forwardError' : 'SET forwardState = :state, forwardFailedAt = :at, forwardError = :detail',
        ExpressionAttributeValues: {
          ':state': { S: state },
          ':at': { S: at },
          ...(detail === undefined ? {} : { ':detail': { S: detail } }),
        },
      }),
    );
  }
}

/**
 * Conversion types from the table, cached per process for `ttlMs`. Only found types are
 * cached: a type added by a deploy is seen at once by the next replay.
 */
export class DynamoConversionTypes implements ConversionTypeSource {
  private readonly cache = new Map<string, { type: ConversionType; until: number }>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async getConversionType(name: string): Promise<ConversionType | undefined> {
    const hit = this.cache.get(name);
    if (hit && hit.until > this.now()) return hit.type;
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { name: { S: name } } }));
    if (!out.Item) {
      this.cache.delete(name);
      return undefined;
    }
    const raw = unmarshall(out.Item);
    const type: ConversionType = {
      name: String(raw.name),
      countsAsConversion: raw.countsAsConversion === true,
      revenue: raw.revenue === 'subtract' || raw.revenue === 'ignore' ? raw.revenue : 'add',
      forwardToChannel: raw.forwardToChannel === true,
    };
    this.cache.set(name, { type, until: this.now() + this.ttlMs });
    return type;
  }
}

/** The inbound log: one PutItem per inbound request, expiring with the clicks. */
export class DynamoInboundLog implements InboundLog {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async record(entry: InboundEntry, expiresAt: number): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall(
          { ...entry, receivedKey: `${entry.receivedAt}#${entry.requestId}`, day: entry.receivedAt.slice(0, 10), expiresAt },
          { removeUndefinedValues: true },
        ),
      }),
    );
  }
}
