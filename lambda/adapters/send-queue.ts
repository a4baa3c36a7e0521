/**
 * The send queue in AWS: one SQS message per job (`{ clickId, conversionKey, attempt }` — no
 * token, no address, no amount), optionally delayed (up to SQS's 15 minutes). The SQS client is
 * loaded on first use.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SendJob, SendQueue } from '../core/send-model';
import { CALL_BUDGETS, boundToDeadline, sdkClientConfig, type CallBudget } from './aws-clients';

type Sqs = typeof import('@aws-sdk/client-sqs');

export class SqsSendQueue implements SendQueue {
  private loaded?: Promise<{ client: SQSClient; sqs: Sqs }>;

  /**
   * `budget`: per attempt, attempts, per call (adapters/aws-clients); every call also ends at the
   * handler's deadline. The request functions' default (`sqs`): a postback never waits long for it
   * (a job that is not queued is found by the sweep); the sender passes its own.
   */
  constructor(
    private readonly queueUrl: string,
    private readonly makeClient?: () => SQSClient,
    private readonly budget: CallBudget = CALL_BUDGETS.sqs,
  ) {}

  private load() {
    this.loaded ??= import('@aws-sdk/client-sqs').then((sqs) => ({
      client: boundToDeadline(this.makeClient ? this.makeClient() : new sqs.SQSClient(sdkClientConfig(this.budget)), 'SQS', this.budget),
      sqs,
    }));
    return this.loaded;
  }

  async enqueue(job: SendJob, delaySeconds = 0): Promise<void> {
    const { client, sqs } = await this.load();
    const body: SendJob = { clickId: job.clickId, conversionKey: job.conversionKey, ...(job.attempt ? { attempt: job.attempt } : {}) };
    await client.send(
      new sqs.SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(body),
        ...(delaySeconds > 0 ? { DelaySeconds: Math.min(900, Math.max(0, Math.round(delaySeconds))) } : {}),
      }),
    );
  }
}

/** A job from a message body, or undefined when it is not one. */
export function parseSendJob(body: string | undefined): SendJob | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body ?? '');
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.clickId !== 'string' || typeof v.conversionKey !== 'string' || v.clickId.length > 64 || v.conversionKey.length > 300) return undefined;
  const attempt = typeof v.attempt === 'number' && Number.isInteger(v.attempt) && v.attempt >= 0 ? v.attempt : undefined;
  return { clickId: v.clickId, conversionKey: v.conversionKey, ...(attempt !== undefined ? { attempt } : {}) };
}
