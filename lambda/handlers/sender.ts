/**
 * The sender function: sends recorded conversions to the ad platforms and channel postback URLs
 * (core/send), outside the requests that recorded them.
 *
 * - SQS (the send queue): one job per record, a few at once; a job whose processing throws (the
 *   store is down) is reported in `batchItemFailures`, so SQS redelivers only that one.
 * - EventBridge schedule (hourly): the day keys of sealed addresses (today's and tomorrow's made,
 *   expired ones deleted), then the sweep (Google Ads uploads that are due, and any send whose
 *   job was lost).
 *
 * Every platform call has its own timeout; work stops being started when the function's
 * remaining time runs low. Logs carry the click id, conversion key, target, outcome and the
 * platform's answer — never a token, never an address.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseSendJob } from '../adapters/send-queue';
import { errorText } from '../core/conversion';
import { maintainIpKeys, type IpKeyStore } from '../core/sealed-ip';
import { processSend, sweep, type SendDeps, type SendResult, type SweepOptions } from '../core/send';
import { logger } from '../logger';
import { publish, sendMetrics } from '../metrics';
import { HANDLER_DEADLINE_MS } from '../contract';
import { currentDeadline } from '../core/deadline';
import { withDeadline, type InvocationContext } from './deadline';
import { senderDepsFromEnv } from './runtime';

/** An EventBridge scheduled event (only its shape matters: it is not an SQS batch). */
export interface ScheduledEvent {
  source?: string;
  'detail-type'?: string;
}

/**
 * Kept between the last work started and the handler's deadline (HANDLER_DEADLINE_MS.sender, which
 * the stack keeps below the function's timeout): a Google upload's 30 s plus writing the outcomes.
 */
export const SENDER_MARGIN_MS = 45_000;
/** Jobs of one SQS batch sent at once. */
const CONCURRENCY = 5;

function logResult(r: SendResult): void {
  const fields = { clickId: r.clickId, conversionKey: r.conversionKey, to: r.to, outcome: r.outcome, detail: r.detail };
  if (r.outcome === 'failed' || r.outcome === 'queued') logger.warn('send', fields);
  else logger.info('send', fields);
}

export function createSenderHandler(deps: SendDeps, options: { keys?: IpKeyStore; sweep?: SweepOptions } = {}) {
  const handle = async (event: SQSEvent | ScheduledEvent): Promise<SQSBatchResponse | { swept: Record<string, Record<string, number>> }> => {
    // No new work after this; every outside call is aborted at the deadline itself (core/deadline).
    const until = (currentDeadline()?.at ?? Date.now() + HANDLER_DEADLINE_MS.sender) - SENDER_MARGIN_MS;
    if ('Records' in event && Array.isArray(event.Records)) {
      const failures: { itemIdentifier: string }[] = [];
      const results: SendResult[] = [];
      let next = 0;
      const worker = async () => {
        while (next < event.Records.length) {
          const record = event.Records[next++];
          if (!record) continue;
          const job = parseSendJob(record.body);
          if (!job) {
            // Not ours (or damaged): retrying it would not help, and nothing in it can be sent.
            logger.error('send job unreadable; dropped', { messageId: record.messageId });
            continue;
          }
          if (Date.now() > until) {
            failures.push({ itemIdentifier: record.messageId });
            continue;
          }
          try {
            const result = await processSend(job, deps, 'queue');
            results.push(result);
            logResult(result);
          } catch (err) {
            logger.error('send job failed; SQS delivers it again', { messageId: record.messageId, clickId: job.clickId, conversionKey: job.conversionKey, error: errorText(err) });
            failures.push({ itemIdentifier: record.messageId });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, event.Records.length) }, worker));
      await publish(sendMetrics(results));
      return { batchItemFailures: failures };
    }

    // The hourly schedule.
    if (options.keys) {
      try {
        const keys = await maintainIpKeys(options.keys, new Date());
        if (keys.created.length || keys.deleted.length) logger.info('ip keys', keys);
      } catch (err) {
        logger.error('ip keys not maintained', { error: errorText(err) });
      }
    }
    const summary = await sweep(deps, { ...options.sweep, until });
    for (const r of summary.results) logResult(r);
    await publish(sendMetrics(summary.results));
    logger.info('sweep', { targets: summary.targets });
    return { swept: summary.targets as Record<string, Record<string, number>> };
  };
  return withDeadline(HANDLER_DEADLINE_MS.sender, handle);
}

const build = () => {
  const { deps, keys } = senderDepsFromEnv();
  return createSenderHandler(deps, keys ? { keys } : {});
};

let built: ReturnType<typeof createSenderHandler> | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME ? build() : undefined;

/** Lambda entry point. */
export const handler = async (event: SQSEvent | ScheduledEvent, context?: InvocationContext) => {
  built ??= build();
  return built(event, context);
};
