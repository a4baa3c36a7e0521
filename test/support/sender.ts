/**
 * The send path for handler tests: the real sender core (core/send) on the test's tables, fed by
 * the in-process queue the local run uses, with tiny retry delays. Call `drain()` before asserting
 * what was sent.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TrackerConfig } from '../../config/schema';
import { CachedSecretReader } from '../../lambda/adapters/secrets';
import type { ConversionRecord, DeadLetterSink } from '../../lambda/core/model';
import { processSend, type SendDeps, type SendResult } from '../../lambda/core/send';
import { sendDeps } from '../../lambda/handlers/runtime';
import { InProcessSendQueue } from '../../lambda/local/send-queue';
import type { TableNames } from '../../lambda/local/tables';

export interface TestSender {
  queue: InProcessSendQueue;
  deps: SendDeps & { state: ReturnType<typeof sendDeps>['state'] };
  results: SendResult[];
  /** Runs every queued job (retries included) to the end. */
  drain(timeoutMs?: number): Promise<void>;
}

export function testSender(
  config: TrackerConfig,
  client: DynamoDBClient,
  tables: Pick<TableNames, 'clicks' | 'conversions' | 'ipKeys'>,
  deadLetters: () => DeadLetterSink,
  options: { env?: NodeJS.ProcessEnv; retryDelaysSeconds?: readonly number[]; delayScale?: number; now?: () => Date; postbackPauseMs?: number } = {},
): TestSender {
  const results: SendResult[] = [];
  let deps: TestSender['deps'] | undefined;
  const queue = new InProcessSendQueue({
    handle: async (job) => {
      if (!deps) throw new Error('sender not ready');
      results.push(await processSend(job, deps, 'queue'));
    },
    delayScale: options.delayScale ?? 0.001,
    intervalMs: 5,
  });
  deps = {
    ...sendDeps(config, { client, tables, secrets: new CachedSecretReader('local', options.env ?? process.env), deadLetters, queue }),
    retryDelaysSeconds: options.retryDelaysSeconds ?? [30, 120, 600, 900],
    postbackPauseMs: options.postbackPauseMs ?? 1,
    ...(options.now ? { now: options.now } : {}),
  };
  queue.start();
  return { queue, deps, results, drain: (timeoutMs) => queue.drain(timeoutMs) };
}

/**
 * A stand-in for the send path in tests about recording: every conversion handed to the sender
 * (marked when recorded, queued once stored) lands in `handed`, as the sender would receive it.
 * The send path itself is tested in forward.test.ts and conversion-apis.test.ts.
 */
export function handedToSender(handed: ConversionRecord[]) {
  const marked = new Map<string, ConversionRecord>();
  return {
    mark: (c: ConversionRecord, _type: unknown, now: Date) => {
      marked.set(`${c.clickId}|${c.conversionKey}`, c);
      return { to: 'postback' as const, due: now.toISOString() };
    },
    enqueue: async (job: { clickId: string; conversionKey: string }) => {
      const c = marked.get(`${job.clickId}|${job.conversionKey}`);
      if (c) handed.push(c);
    },
  };
}
