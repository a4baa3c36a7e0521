import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterMessage, DeadLetterQueue, DeadLetterSendResult, DeadLetterSink, ReceivedMessage } from '../core/model';
import { CALL_BUDGETS, boundToDeadline, sdkClientConfig, type CallBudget } from './aws-clients';

type Sqs = typeof import('@aws-sdk/client-sqs');

/**
 * The dead-letter queue in AWS. The SQS client is loaded on first use: the click path only
 * needs it when DynamoDB fails, so a healthy cold start does not pay for it. It queues every
 * message it is given: dedupe and the per-source cap are core/dead-letters' GuardedDeadLetterSink,
 * which wraps it.
 */
export class SqsDeadLetterSink implements DeadLetterSink {
  private loaded?: Promise<{ client: SQSClient; sqs: Sqs }>;

  /**
   * `budget`: per attempt, attempts, per call (adapters/aws-clients); every call also ends at
   * the request's deadline. The request functions' default: a fallback nobody may wait long for.
   */
  constructor(
    protected readonly queueUrl: string,
    private readonly makeClient?: () => SQSClient,
    protected readonly budget: CallBudget = CALL_BUDGETS.sqs,
  ) {}

  protected load() {
    this.loaded ??= import('@aws-sdk/client-sqs').then((sqs) => ({
      client: boundToDeadline(this.makeClient ? this.makeClient() : new sqs.SQSClient(sdkClientConfig(this.budget)), 'SQS', this.budget),
      sqs,
    }));
    return this.loaded;
  }

  /**
   * Loads the client ahead of need: the click function calls this when its DynamoDB write is
   * slow, so a cold instance does not spend its fallback's time budget loading the SDK.
   */
  prepare(): void {
    this.load().catch(() => undefined);
  }

  async send(message: DeadLetterMessage): Promise<DeadLetterSendResult> {
    const { client, sqs } = await this.load();
    await client.send(
      new sqs.SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: message.kind },
          reason: { DataType: 'String', StringValue: message.reason },
        },
      }),
    );
    return { status: 'queued', messageId: message.id };
  }
}

/** Whether a parsed body looks like one of our messages. */
function isDeadLetterMessage(value: unknown): value is DeadLetterMessage {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return v.version === 1 && typeof v.id === 'string' && typeof v.kind === 'string' && typeof v.reason === 'string' && typeof v.request === 'object';
}

/**
 * The SQS queue as the redrive tool reads it: received messages stay hidden for
 * `visibilitySeconds` while they are replayed, then are deleted, replaced or released.
 */
export class SqsDeadLetterQueue extends SqsDeadLetterSink implements DeadLetterQueue {
  /** Bodies that are not our messages: left in the queue, reported by id. */
  readonly unreadable: string[] = [];

  /**
   * `budget`: a CLI's by default (ReceiveMessage long-polls, and nobody waits on a redirect);
   * the archiver passes its own.
   */
  constructor(
    queueUrl: string,
    makeClient?: () => SQSClient,
    private readonly visibilitySeconds = 300,
    budget: CallBudget = CALL_BUDGETS.tool,
  ) {
    super(queueUrl, makeClient, budget);
  }

  async receive(limit: number): Promise<ReceivedMessage[]> {
    const { client, sqs } = await this.load();
    const out: ReceivedMessage[] = [];
    const seen = new Set<string>();
    while (out.length < limit) {
      const page = await client.send(
        new sqs.ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: Math.min(10, limit - out.length),
          VisibilityTimeout: this.visibilitySeconds,
          WaitTimeSeconds: 1,
          // When this copy was sent: SQS retention (and the archive move) counts from it.
          MessageSystemAttributeNames: ['SentTimestamp'],
        }),
      );
      const messages = page.Messages ?? [];
      const fresh = messages.filter((m) => m.MessageId !== undefined && !seen.has(m.MessageId));
      if (fresh.length === 0) break;
      for (const m of fresh) {
        seen.add(m.MessageId ?? '');
        let body: unknown;
        try {
          body = JSON.parse(m.Body ?? '');
        } catch {
          body = undefined;
        }
        const sent = Number(m.Attributes?.SentTimestamp);
        if (m.ReceiptHandle && isDeadLetterMessage(body)) {
          out.push({ handle: m.ReceiptHandle, message: body, place: 'queue', ...(Number.isFinite(sent) && sent > 0 ? { sentAt: new Date(sent).toISOString() } : {}) });
        }
        else {
          this.unreadable.push(m.MessageId ?? '?');
          if (m.ReceiptHandle) await this.release(m.ReceiptHandle);
        }
      }
    }
    return out;
  }

  async remove(handle: string): Promise<void> {
    const { client, sqs } = await this.load();
    await client.send(new sqs.DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: handle }));
  }

  /** Sends the updated copy first, then deletes the old one: a crash in between leaves a duplicate, never a loss (replays are idempotent). */
  async replace(handle: string, updated: DeadLetterMessage): Promise<void> {
    await this.send(updated);
    await this.remove(handle);
  }

  async release(handle: string): Promise<void> {
    const { client, sqs } = await this.load();
    await client.send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }));
  }

  /**
   * Redrive heartbeat: hides received messages `seconds` longer (10 per call), so a long redrive
   * keeps what it is working through and no other reader receives a second handle to it.
   */
  async keepHidden(handles: readonly string[], seconds: number): Promise<void> {
    const { client, sqs } = await this.load();
    for (let i = 0; i < handles.length; i += 10) {
      const batch = handles.slice(i, i + 10);
      await client.send(
        new sqs.ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((ReceiptHandle, j) => ({ Id: String(j), ReceiptHandle, VisibilityTimeout: seconds })),
        }),
      );
    }
  }
}
