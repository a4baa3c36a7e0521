import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { SqsDeadLetterQueue } from '../../lambda/adapters/sqs-dead-letter';
import type { DeadLetterMessage } from '../../lambda/core/model';

const sqs = mockClient(SQSClient);
const URL_ = 'https://sqs.us-east-1.amazonaws.com/1/dlq';
const message: DeadLetterMessage = {
  version: 1, id: '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7', kind: 'postback', reason: 'unknown_type', detail: 'd', receivedAt: '2026-11-25T00:00:00.000Z',
  request: { method: 'GET', path: '/postback', query: 'clickid=A&type=x', body: '', headers: {} },
};

beforeEach(() => sqs.reset());

describe('SqsDeadLetterQueue', () => {
  it('sends the message as JSON with kind and reason attributes', async () => {
    sqs.on(SendMessageCommand).resolves({});
    // A plain queue queues everything: dedupe and caps are the guard's (core/dead-letters).
    expect(await new SqsDeadLetterQueue(URL_, () => new SQSClient({})).send(message)).toEqual({ status: 'queued', messageId: message.id });
    expect(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: URL_,
      MessageBody: JSON.stringify(message),
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'postback' }, reason: { DataType: 'String', StringValue: 'unknown_type' } },
    });
  });

  it('receives in pages with a visibility timeout, stops on repeats, and releases what it cannot read', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { MessageId: '1', ReceiptHandle: 'h1', Body: JSON.stringify(message), Attributes: { SentTimestamp: '1795600000000' } },
          { MessageId: '2', ReceiptHandle: 'h2', Body: 'not json' },
        ],
      })
      .resolvesOnce({ Messages: [{ MessageId: '1', ReceiptHandle: 'h1b', Body: JSON.stringify(message) }] })
      .resolves({ Messages: [] });
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    const queue = new SqsDeadLetterQueue(URL_, () => new SQSClient({}), 120);
    const got = await queue.receive(5);
    // sentAt (when this copy was sent) is what the archive move counts from.
    expect(got).toEqual([{ handle: 'h1', message, place: 'queue', sentAt: new Date(1795600000000).toISOString() }]);
    expect(queue.unreadable).toEqual(['2']);
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input).toMatchObject({
      QueueUrl: URL_,
      MaxNumberOfMessages: 5,
      VisibilityTimeout: 120,
      MessageSystemAttributeNames: ['SentTimestamp'],
    });
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input).toEqual({ QueueUrl: URL_, ReceiptHandle: 'h2', VisibilityTimeout: 0 });
  });

  it('replaces by sending the update before deleting the original (never a loss)', async () => {
    const order: string[] = [];
    sqs.on(SendMessageCommand).callsFake(() => order.push('send'));
    sqs.on(DeleteMessageCommand).callsFake(() => order.push('delete'));
    await new SqsDeadLetterQueue(URL_, () => new SQSClient({})).replace('h1', { ...message, attempts: 1 });
    expect(order).toEqual(['send', 'delete']);
    expect(sqs.commandCalls(DeleteMessageCommand)[0]?.args[0].input).toEqual({ QueueUrl: URL_, ReceiptHandle: 'h1' });
  });

  it('keeps received messages hidden in batches of ten (the redrive heartbeat)', async () => {
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    const handles = Array.from({ length: 23 }, (_, i) => `h${i}`);
    await new SqsDeadLetterQueue(URL_, () => new SQSClient({})).keepHidden(handles, 300);
    const calls = sqs.commandCalls(ChangeMessageVisibilityBatchCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.Entries?.length)).toEqual([10, 10, 3]);
    expect(calls.flatMap((c) => c.Entries ?? []).map((e) => e.ReceiptHandle)).toEqual(handles);
    expect(calls.flatMap((c) => c.Entries ?? []).every((e) => e.VisibilityTimeout === 300)).toBe(true);
  });
});
