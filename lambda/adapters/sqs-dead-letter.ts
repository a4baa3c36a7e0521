import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterMessage, DeadLetterSink } from '../core/model';

/**
 * The dead-letter queue in AWS. The SQS client is loaded on first use: the click path only
 * needs it when DynamoDB fails, so a healthy cold start does not pay for it.
 */
export class SqsDeadLetterSink implements DeadLetterSink {
  private client?: Promise<{ client: SQSClient; send: typeof import('@aws-sdk/client-sqs').SendMessageCommand }>;

  constructor(
    private readonly queueUrl: string,
    private readonly makeClient?: () => SQSClient,
  ) {}

  private load() {
    this.client ??= import('@aws-sdk/client-sqs').then((sqs) => ({
      client: this.makeClient ? this.makeClient() : new sqs.SQSClient({}),
      send: sqs.SendMessageCommand,
    }));
    return this.client;
  }

  async send(message: DeadLetterMessage): Promise<void> {
    const { client, send } = await this.load();
    await client.send(
      new send({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: message.kind },
          reason: { DataType: 'String', StringValue: message.reason },
        },
      }),
    );
  }
}
