/**
 * The dead-letter ledger in DynamoDB (table `deadLetterLedger`, TTL on `expiresAt`). Three kinds
 * of item, told apart by the key's prefix, each written with single-item conditional writes
 * (dynalite, the local and test store, has no transactions):
 *
 * - `fp#<fingerprint>`: the marker of a queued failure (core/dead-letters). The request
 *   functions may touch only these and the counters (IAM `dynamodb:LeadingKeys`).
 * - `cap#<hour>#<source>`: distinct failures of one source in one UTC hour.
 * - `msg#<message id>`: a redrive's (or the archiver's) lease on a message, which copy of it is
 *   current and which run replayed it last, so overlapping redrives never work on one message twice.
 * - `run#<owner>`: a redrive run that is going on (until a time it keeps extending).
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DeadLetterLedger, FingerprintMarker, MessageRecord, RedriveLedger } from '../core/model';
import { LEDGER_PREFIX } from './table-definitions';

export { LEDGER_PREFIX } from './table-definitions';

/** How long a message record outlives its last lease: longer than SQS keeps any copy (14 days). */
export const MESSAGE_RECORD_TTL_SECONDS = 30 * 86400;

const isConditionFailure = (err: unknown): err is ConditionalCheckFailedException & { Item?: Record<string, AttributeValue> } =>
  err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException';

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });

export class DynamoDeadLetterLedger implements DeadLetterLedger, RedriveLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private key(pk: string): Record<string, AttributeValue> {
    return { pk: S(pk) };
  }

  /** The item a failed condition met: from the exception (DynamoDB), or a consistent read (dynalite returns none). */
  private async current(pk: string, err: { Item?: Record<string, AttributeValue> }, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
    if (err.Item) return unmarshall(err.Item);
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(pk), ConsistentRead: true }), { abortSignal: signal });
    return out.Item ? unmarshall(out.Item) : undefined;
  }

  async claim(
    fingerprint: string,
    claim: { messageId: string; now: number; expiresAt: number; staleBefore: number },
    signal: AbortSignal,
  ): Promise<{ claimed: true } | { claimed: false; holder?: FingerprintMarker }> {
    const pk = `${LEDGER_PREFIX.marker}${fingerprint}`;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { pk: S(pk), messageId: S(claim.messageId), state: S('pending'), claimedAt: N(claim.now), expiresAt: N(claim.expiresAt) },
          // Free, expired (TTL deletes late), or pending since before staleBefore (its sender died).
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :nowSeconds OR (#state = :pending AND claimedAt < :stale)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':nowSeconds': N(Math.floor(claim.now / 1000)), ':pending': S('pending'), ':stale': N(claim.staleBefore) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: signal },
      );
      return { claimed: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const item = await this.current(pk, err, signal);
      if (!item || typeof item.messageId !== 'string') return { claimed: false };
      return {
        claimed: false,
        holder: { messageId: item.messageId, state: item.state === 'queued' ? 'queued' : 'pending', claimedAt: Number(item.claimedAt) },
      };
    }
  }

  async confirm(fingerprint: string, messageId: string, signal: AbortSignal): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(`${LEDGER_PREFIX.marker}${fingerprint}`),
          UpdateExpression: 'SET #state = :queued',
          ConditionExpression: 'messageId = :id',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':queued': S('queued'), ':id': S(messageId) },
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      // Taken over meanwhile (this sender was slower than PENDING_STALE_MS): the other holds it.
      if (!isConditionFailure(err)) throw err;
    }
  }

  async release(fingerprint: string, messageId: string, signal: AbortSignal): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: this.key(`${LEDGER_PREFIX.marker}${fingerprint}`),
          ConditionExpression: 'messageId = :id',
          ExpressionAttributeValues: { ':id': S(messageId) },
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      // Gone, or held by a later message of the same failure: that one stays.
      if (!isConditionFailure(err)) throw err;
    }
  }

  async count(source: string, hour: string, limit: number, expiresAt: number, signal: AbortSignal): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(`${LEDGER_PREFIX.count}${hour}#${source}`),
          UpdateExpression: 'ADD n :one SET expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(n) OR n < :limit',
          ExpressionAttributeValues: { ':one': N(1), ':limit': N(limit), ':expiresAt': N(expiresAt) },
        }),
        { abortSignal: signal },
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async uncount(source: string, hour: string, signal: AbortSignal): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(`${LEDGER_PREFIX.count}${hour}#${source}`),
          UpdateExpression: 'ADD n :minusOne',
          ConditionExpression: 'n > :zero',
          ExpressionAttributeValues: { ':minusOne': N(-1), ':zero': N(0) },
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  async lease(messageId: string, owner: string, now: number, until: number): Promise<{ acquired: true; record?: MessageRecord } | { acquired: false; until: number }> {
    const pk = `${LEDGER_PREFIX.message}${messageId}`;
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(pk),
          UpdateExpression: 'SET #owner = :owner, leaseUntil = :until, expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(pk) OR attribute_not_exists(leaseUntil) OR leaseUntil < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':owner': S(owner),
            ':until': N(until),
            ':now': N(now),
            ':expiresAt': N(Math.floor(until / 1000) + MESSAGE_RECORD_TTL_SECONDS),
          },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const old = out.Attributes ? unmarshall(out.Attributes) : undefined;
      if (!old || (old.state !== 'current' && old.state !== 'removed')) return { acquired: true };
      return {
        acquired: true,
        record: { revision: typeof old.revision === 'string' ? old.revision : '', state: old.state, ...(typeof old.by === 'string' ? { by: old.by } : {}) },
      };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const item = await this.current(pk, err);
      return { acquired: false, until: Number(item?.leaseUntil ?? now) };
    }
  }

  async finish(messageId: string, owner: string, record: MessageRecord): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(`${LEDGER_PREFIX.message}${messageId}`),
          UpdateExpression: 'SET revision = :revision, #state = :state, #by = :owner, expiresAt = :expiresAt REMOVE #owner, leaseUntil',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner', '#state': 'state', '#by': 'by' },
          ExpressionAttributeValues: {
            ':owner': S(owner),
            ':revision': S(record.revision),
            ':state': S(record.state),
            ':expiresAt': N(Math.floor(Date.now() / 1000) + MESSAGE_RECORD_TTL_SECONDS),
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async announceRun(owner: string, until: number): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { pk: S(`${LEDGER_PREFIX.run}${owner}`), until: N(until), expiresAt: N(Math.floor(Math.max(until, Date.now()) / 1000) + 86400) },
      }),
    );
  }

  async runActive(owner: string, now: number): Promise<boolean> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(`${LEDGER_PREFIX.run}${owner}`), ConsistentRead: true }));
    return out.Item !== undefined && Number(out.Item.until?.N ?? 0) > now;
  }

  async unlease(messageId: string, owner: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(`${LEDGER_PREFIX.message}${messageId}`),
          UpdateExpression: 'REMOVE #owner, leaseUntil',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': S(owner) },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }
}
