/**
 * The durable archive behind the dead-letter queue, in DynamoDB (table `deadLetterArchive`):
 * one item per message, keyed by its kind and id (a ULID, so each kind reads in arrival order,
 * and a redrive reads the clicks first). No TTL: an archived failure stays until a redrive
 * records it (or a person deletes it). The message is kept as its JSON, exactly as queued.
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEAD_LETTER_KINDS, type DeadLetterArchive, type DeadLetterKind, type DeadLetterMessage } from '../core/model';

/** Read order: every kind, clicks first (a queued postback or lander click often names a queued click). */
export const ARCHIVE_KINDS: readonly DeadLetterKind[] = DEAD_LETTER_KINDS;

export class DynamoDeadLetterArchive implements DeadLetterArchive {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private item(message: DeadLetterMessage, archivedAt?: string): Record<string, AttributeValue> {
    return {
      kind: { S: message.kind },
      id: { S: message.id },
      message: { S: JSON.stringify(message) },
      reason: { S: message.reason },
      receivedAt: { S: message.receivedAt },
      ...(archivedAt ? { archivedAt: { S: archivedAt } } : {}),
    };
  }

  async put(message: DeadLetterMessage, archivedAt: string): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: this.item(message, archivedAt) }));
  }

  async update(message: DeadLetterMessage): Promise<void> {
    // Only the message changes (attempts, reason, revision); archivedAt stays.
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { kind: { S: message.kind }, id: { S: message.id } },
        UpdateExpression: 'SET message = :message, reason = :reason',
        ExpressionAttributeValues: { ':message': { S: JSON.stringify(message) }, ':reason': { S: message.reason } },
      }),
    );
  }

  async list(limit: number): Promise<DeadLetterMessage[]> {
    const out: DeadLetterMessage[] = [];
    for (const kind of ARCHIVE_KINDS) {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'kind = :kind',
            ExpressionAttributeValues: { ':kind': { S: kind } },
            ProjectionExpression: 'message',
            ConsistentRead: true,
            Limit: Math.min(100, limit - out.length),
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) {
          const text = item.message?.S;
          if (text !== undefined) out.push(JSON.parse(text) as DeadLetterMessage);
        }
        start = page.LastEvaluatedKey;
      } while (start && out.length < limit);
      if (out.length >= limit) break;
    }
    return out;
  }

  async oldest(): Promise<DeadLetterMessage | undefined> {
    // Ids are ULIDs: the first item of each kind is that kind's earliest.
    const firsts = await Promise.all(
      ARCHIVE_KINDS.map(async (kind) => {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'kind = :kind',
            ExpressionAttributeValues: { ':kind': { S: kind } },
            ProjectionExpression: 'message',
            Limit: 1,
          }),
        );
        const text = page.Items?.[0]?.message?.S;
        return text === undefined ? undefined : (JSON.parse(text) as DeadLetterMessage);
      }),
    );
    return firsts.filter((m): m is DeadLetterMessage => m !== undefined).sort((a, b) => (a.id < b.id ? -1 : 1))[0];
  }

  async get(key: Pick<DeadLetterMessage, 'id' | 'kind'>): Promise<DeadLetterMessage | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { kind: { S: key.kind }, id: { S: key.id } }, ConsistentRead: true, ProjectionExpression: 'message' }),
    );
    const text = out.Item?.message?.S;
    return text === undefined ? undefined : (JSON.parse(text) as DeadLetterMessage);
  }

  async delete(message: Pick<DeadLetterMessage, 'id' | 'kind'>): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { kind: { S: message.kind }, id: { S: message.id } } }));
  }
}
