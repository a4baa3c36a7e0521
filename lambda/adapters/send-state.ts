/**
 * The send state on the conversion item (core/send-model SendStateStore), and the click side of
 * a send (SendClicks), on DynamoDB. Every change is one conditional UpdateItem on the item:
 *
 * - claim: `forwardState` -> `sending` from the states the caller names, with a token of this
 *   claim; when the condition fails the item is read back (ALL_OLD, or a consistent GetItem
 *   where the store returns none) and our own token means the claim was ours (its answer was
 *   lost), exactly like the conversion put;
 * - finish / release: only while our token holds the claim (a sweep may have taken over a claim
 *   whose lease ran out);
 * - the sparse `bySend` index (`sendQueue` + `sendDue`) holds the item while its send is
 *   outstanding: a claim keeps it there with the lease's end as due time (so a dead sender's
 *   claim is found again), `finish` removes it, `release` sets the next due time.
 */
import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { TEST_CAMPAIGN_PREFIX } from '../core/model';
import type { SendTarget } from '../core/platforms';
import type { DueSend, SendClick, SendClicks, SendConversion, SendStateStore } from '../core/send-model';
import { DynamoClickStore, clickKey } from './dynamodb-store';
import { decimalOf, wrapStoredNumber } from './stored-number';
import { SEND_INDEX, SEND_INDEX_ATTRIBUTES } from './table-definitions';

function conditionFailed(err: unknown): err is ConditionalCheckFailedException {
  return err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException';
}

const key = (clickId: string, conversionKey: string): Record<string, AttributeValue> => ({ clickId: { S: clickId }, conversionKey: { S: conversionKey } });

/** An item as the send path reads it: revenue as exact text, store-only attributes removed. */
function toSendConversion(item: Record<string, AttributeValue>): SendConversion {
  const raw = unmarshall(item, { wrapNumbers: wrapStoredNumber }) as Record<string, unknown>;
  for (const name of ['writeToken', 'forwardClaimToken']) delete raw[name];
  raw.revenue = decimalOf(raw.revenue);
  if (raw.forwardAttempts !== undefined) raw.forwardAttempts = Number(decimalOf(raw.forwardAttempts));
  if (typeof raw.campaignId === 'string' && raw.campaignId.startsWith(TEST_CAMPAIGN_PREFIX)) raw.campaignId = raw.campaignId.slice(TEST_CAMPAIGN_PREFIX.length);
  return raw as unknown as SendConversion;
}

/** Read capacity the due-index queries reported (the sweep prints it: how much finding due sends costs). */
export interface DueReadStats {
  queries: number;
  items: number;
  capacityUnits: number;
}

export class DynamoSendState implements SendStateStore {
  readonly stats: DueReadStats = { queries: 0, items: 0, capacityUnits: 0 };

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(clickId: string, conversionKey: string): Promise<SendConversion | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key(clickId, conversionKey), ConsistentRead: true }));
    return out.Item ? toSendConversion(out.Item) : undefined;
  }

  async claim(
    clickId: string,
    conversionKey: string,
    options: { from: readonly ('new' | 'pending' | 'failed' | 'stale')[]; at: string; leaseUntil: string; dropFromIndex: boolean },
  ): Promise<string | undefined> {
    const token = randomUUID();
    const values: Record<string, AttributeValue> = { ':sending': { S: 'sending' }, ':at': { S: options.at }, ':token': { S: token } };
    const from: string[] = [];
    for (const state of options.from) {
      if (state === 'new') from.push('attribute_not_exists(forwardState)');
      if (state === 'pending') {
        from.push('forwardState = :pending');
        values[':pending'] = { S: 'pending' };
      }
      if (state === 'failed') {
        from.push('forwardState = :failed');
        values[':failed'] = { S: 'failed' };
      }
      // A claim whose lease ran out (its sender died): its due time is the lease's end.
      if (state === 'stale') from.push('(forwardState = :sending AND sendDue < :at)');
    }
    if (from.length === 0) throw new Error('claim: name at least one state to claim from');
    let update = 'SET forwardState = :sending, forwardClaimedAt = :at, forwardClaimToken = :token';
    if (options.dropFromIndex) update += ' REMOVE sendQueue, sendDue';
    else {
      // Back in (or still in) the due index, due again when the lease ends: a redrive's claim too.
      update += ', sendDue = :lease, sendQueue = if_not_exists(sendQueue, forwardTo)';
      values[':lease'] = { S: options.leaseUntil };
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(clickId, conversionKey),
          UpdateExpression: update,
          ConditionExpression: `attribute_exists(clickId) AND attribute_exists(forwardTo) AND (${from.join(' OR ')})`,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return token;
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      // Our own claim, applied before its answer was lost: still ours.
      const item = err.Item ?? (await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key(clickId, conversionKey), ConsistentRead: true }))).Item;
      return item?.forwardState?.S === 'sending' && item.forwardClaimToken?.S === token ? token : undefined;
    }
  }

  async finish(
    clickId: string,
    conversionKey: string,
    token: string,
    result: { state: 'sent' | 'failed' | 'skipped'; at: string; error?: string; request?: string; answer?: string },
  ): Promise<void> {
    const at = result.state === 'sent' ? 'forwardedAt' : result.state === 'failed' ? 'forwardFailedAt' : 'forwardSkippedAt';
    const values: Record<string, AttributeValue> = { ':state': { S: result.state }, ':at': { S: result.at }, ':token': { S: token } };
    const set = ['forwardState = :state', `${at} = :at`];
    const remove = ['sendQueue', 'sendDue'];
    if (result.error !== undefined) {
      set.push('forwardError = :error');
      values[':error'] = { S: result.error.slice(0, 1000) };
    } else remove.push('forwardError');
    if (result.request !== undefined) {
      set.push('forwardRequest = :request');
      values[':request'] = { S: result.request.slice(0, 2000) };
    }
    if (result.answer !== undefined) {
      set.push('forwardAnswer = :answer');
      values[':answer'] = { S: result.answer.slice(0, 1000) };
    }
    await this.update(clickId, conversionKey, `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`, values);
  }

  async release(
    clickId: string,
    conversionKey: string,
    token: string,
    result: { due: string; attempts: number; error: string; request?: string; answer?: string },
  ): Promise<void> {
    const values: Record<string, AttributeValue> = {
      ':pending': { S: 'pending' },
      ':due': { S: result.due },
      ':attempts': { N: String(result.attempts) },
      ':error': { S: result.error.slice(0, 1000) },
      ':token': { S: token },
    };
    const set = ['forwardState = :pending', 'sendDue = :due', 'sendQueue = forwardTo', 'forwardAttempts = :attempts', 'forwardError = :error'];
    if (result.request !== undefined) {
      set.push('forwardRequest = :request');
      values[':request'] = { S: result.request.slice(0, 2000) };
    }
    if (result.answer !== undefined) {
      set.push('forwardAnswer = :answer');
      values[':answer'] = { S: result.answer.slice(0, 1000) };
    }
    await this.update(clickId, conversionKey, `SET ${set.join(', ')}`, values);
  }

  /** An update that holds only while our claim does; a claim taken over meanwhile makes it a no-op. */
  private async update(clickId: string, conversionKey: string, expression: string, values: Record<string, AttributeValue>): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(clickId, conversionKey),
          UpdateExpression: expression,
          ConditionExpression: 'forwardClaimToken = :token',
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      if (!conditionFailed(err)) throw err;
    }
  }

  async due(queue: SendTarget, until: string, limit: number, cursor?: string): Promise<{ items: DueSend[]; cursor?: string }> {
    const names: Record<string, string> = { '#q': 'sendQueue', '#d': 'sendDue' };
    const projection = ['clickId', 'conversionKey', 'sendQueue', 'sendDue', ...SEND_INDEX_ATTRIBUTES].map((n, i) => {
      names[`#p${i}`] = n;
      return `#p${i}`;
    });
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: SEND_INDEX,
        KeyConditionExpression: '#q = :q AND #d <= :until',
        ProjectionExpression: projection.join(', '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':q': { S: queue }, ':until': { S: until } },
        Limit: limit,
        ReturnConsumedCapacity: 'TOTAL',
        ...(cursor ? { ExclusiveStartKey: JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, AttributeValue> } : {}),
      }),
    );
    this.stats.queries++;
    this.stats.items += out.Items?.length ?? 0;
    this.stats.capacityUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
    return {
      items: (out.Items ?? []).map((item) => toSendConversion(item) as DueSend),
      ...(out.LastEvaluatedKey ? { cursor: Buffer.from(JSON.stringify(out.LastEvaluatedKey), 'utf8').toString('base64url') } : {}),
    };
  }
}

/** The click side: reading it (with what t.js adds), and removing its sealed address when done. */
export class DynamoSendClicks implements SendClicks {
  private readonly clicks: DynamoClickStore;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly clicksTable: string,
    private readonly conversionsTable: string,
  ) {
    this.clicks = new DynamoClickStore(client, clicksTable);
  }

  async getClick(clickId: string): Promise<SendClick | undefined> {
    return (await this.clicks.getClick(clickId)) as SendClick | undefined;
  }

  async dropSealedIpIfDone(clickId: string): Promise<boolean> {
    // Any of the click's conversions still waiting for a Meta or TikTok send needs the address.
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.conversionsTable,
        KeyConditionExpression: '#c = :c',
        ProjectionExpression: '#q',
        ExpressionAttributeNames: { '#c': 'clickId', '#q': 'sendQueue' },
        ExpressionAttributeValues: { ':c': { S: clickId } },
        ConsistentRead: true,
      }),
    );
    if ((out.Items ?? []).some((i) => i.sendQueue?.S === 'meta' || i.sendQueue?.S === 'tiktok')) return false;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.clicksTable,
          Key: clickKey(clickId),
          UpdateExpression: 'REMOVE #ip',
          ConditionExpression: 'attribute_exists(#ip)',
          ExpressionAttributeNames: { '#ip': 'sealedIp' },
        }),
      );
      return true;
    } catch (err) {
      if (conditionFailed(err)) return false;
      throw err;
    }
  }
}
