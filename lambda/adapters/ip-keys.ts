/**
 * The day keys of core/sealed-ip on DynamoDB: one item per UTC day (`day`, the 32-byte `key` as
 * binary, `expiresAt` for TTL as a backstop to the schedule's explicit delete).
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { IpKeyStore } from '../core/sealed-ip';

function conditionFailed(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException';
}

export class DynamoIpKeyStore implements IpKeyStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async getKey(day: string): Promise<Buffer | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { day: { S: day } }, ConsistentRead: true }));
    const key = out.Item?.key?.B;
    return key && key.length === 32 ? Buffer.from(key) : undefined;
  }

  async createKey(day: string, key: Buffer, expiresAt: number): Promise<Buffer> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { day: { S: day }, key: { B: key }, createdAt: { S: new Date().toISOString() }, expiresAt: { N: String(expiresAt) } },
          ConditionExpression: 'attribute_not_exists(#d)',
          ExpressionAttributeNames: { '#d': 'day' },
        }),
      );
      return key;
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      // Another function made the day's key first: that one seals the day.
      const existing = await this.getKey(day);
      if (!existing) throw new Error(`the IP key of ${day} existed, then could not be read`);
      return existing;
    }
  }

  async listKeyDays(): Promise<string[]> {
    const days: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.client.send(new ScanCommand({ TableName: this.tableName, ProjectionExpression: '#d', ExpressionAttributeNames: { '#d': 'day' }, ExclusiveStartKey: start }));
      for (const item of out.Items ?? []) if (item.day?.S) days.push(item.day.S);
      start = out.LastEvaluatedKey;
    } while (start);
    return days.sort();
  }

  async deleteKey(day: string): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { day: { S: day } } }));
  }
}
