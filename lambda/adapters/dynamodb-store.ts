/**
 * DynamoDB implementations of the core's ports. Every write is a single conditional PutItem:
 * dynalite (used locally and in tests) has no transactions, and none are needed.
 */
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
  type PutResult,
  type SubKey,
} from '../core/model';

/**
 * A client for AWS, or for a local endpoint (dynalite) when DYNAMODB_ENDPOINT is set. Every
 * call is bounded by `budget` (per attempt, attempts, per call) and by the request's deadline
 * (adapters/aws-clients): the request path's budget unless a CLI asks for the tools' one.
 */
export function createDynamoClient(
  endpoint: string | undefined = process.env.DYNAMODB_ENDPOINT,
  budget: CallBudget = CALL_BUDGETS.dynamodb,
): DynamoDBClient {
  const config = sdkClientConfig(budget);
  const client = endpoint
    ? new DynamoDBClient({
        ...config,
        endpoint,
        region: process.env.AWS_REGION ?? 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      })
    : new DynamoDBClient(config);
  return boundToDeadline(client, 'DynamoDB', budget);
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

export function conversionToItem(conversion: ConversionRecord): Record<string, AttributeValue> {
  const { revenue, ...rest } = conversion;
  // Revenue is stored as a DynamoDB number from its exact decimal text.
  return { ...marshall(rest, { removeUndefinedValues: true }), revenue: { N: revenue } };
}

async function conditionalPut(client: DynamoDBClient, input: ConstructorParameters<typeof PutItemCommand>[0]): Promise<PutResult> {
  try {
    await client.send(new PutItemCommand(input));
    return 'stored';
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException') return 'duplicate';
    throw err;
  }
}

export class DynamoClickStore implements ClickStore, ClickReader {
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

  putConversion(conversion: ConversionRecord): Promise<PutResult> {
    return conditionalPut(this.client, {
      TableName: this.tableName,
      Item: conversionToItem(conversion),
      ConditionExpression: 'attribute_not_exists(clickId)',
    });
  }

  async claimForward(clickId: string, conversionKey: string, from: 'new' | 'failed', at: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { clickId: { S: clickId }, conversionKey: { S: conversionKey } },
          UpdateExpression: 'SET forwardState = :sending, forwardClaimedAt = :at',
          ConditionExpression:
            from === 'new' ? 'attribute_exists(clickId) AND attribute_not_exists(forwardState)' : 'forwardState = :failed',
          ExpressionAttributeValues: {
            ':sending': { S: 'sending' },
            ':at': { S: at },
            ...(from === 'failed' ? { ':failed': { S: 'failed' } } : {}),
          },
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
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
