/**
 * The dead-letter archiver, run by an EventBridge schedule (lib/dead-letter-archiver.ts): moves
 * queue messages older than ARCHIVE_AFTER_DAYS into the archive table before SQS retention
 * (14 days) could drop them. Thin: the work is core/archive archiveOldMessages.
 */
import { createDynamoClient } from '../adapters/dynamodb-store';
import { DynamoDeadLetterArchive } from '../adapters/dead-letter-archive';
import { DynamoDeadLetterLedger } from '../adapters/dead-letter-ledger';
import { SqsDeadLetterQueue } from '../adapters/sqs-dead-letter';
import { ARCHIVER, ENV, TABLE_ENV } from '../contract';
import { archiveOldMessages, type ArchiveSummary } from '../core/archive';
import type { DeadLetterArchive, DeadLetterQueue, RedriveLedger } from '../core/model';
import { logger } from '../logger';
import { archiveMetrics, publish } from '../metrics';
import { requireEnv } from './runtime';

export interface ArchiverDeps {
  queue: DeadLetterQueue;
  archive: DeadLetterArchive;
  ledger: RedriveLedger;
}

/** Time kept back from the function's remaining time, so the last message finishes before the timeout. */
export const ARCHIVER_MARGIN_MS = 30_000;

export function archiverDepsFromEnv(env: NodeJS.ProcessEnv = process.env): ArchiverDeps {
  const client = createDynamoClient();
  return {
    queue: new SqsDeadLetterQueue(requireEnv(ENV.deadLetterQueueUrl, env), undefined, ARCHIVER.visibilitySeconds),
    archive: new DynamoDeadLetterArchive(client, requireEnv(TABLE_ENV.deadLetterArchive, env)),
    ledger: new DynamoDeadLetterLedger(client, requireEnv(TABLE_ENV.deadLetterLedger, env)),
  };
}

/** `now`: the time ages are measured against (tests move it forward; deadlines stay on real time). */
export function createArchiverHandler(deps: ArchiverDeps, options: { now?: () => number } = {}) {
  return async (_event: unknown, context?: { getRemainingTimeInMillis(): number }): Promise<ArchiveSummary> => {
    const now = options.now ?? Date.now;
    // The deadline: the configured one, and never closer than the margin to the timeout.
    const remaining = context ? context.getRemainingTimeInMillis() - ARCHIVER_MARGIN_MS : ARCHIVER.deadlineSeconds * 1000;
    const deadline = Date.now() + Math.max(0, Math.min(ARCHIVER.deadlineSeconds * 1000, remaining));
    const summary = await archiveOldMessages(deps.queue, deps.archive, { deadline, now, ledger: deps.ledger });
    if (summary.deadlineReached) logger.warn('dead-letter archiver stopped at its deadline; the next run goes on', { ...summary });
    else logger.info('dead-letter archiver', { ...summary });
    await publish(archiveMetrics(summary, now()));
    return summary;
  };
}

let built: ReturnType<typeof createArchiverHandler> | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME ? createArchiverHandler(archiverDepsFromEnv()) : undefined;

/** Lambda entry point (EventBridge scheduled event). */
export const handler = async (event: unknown, context: { getRemainingTimeInMillis(): number }): Promise<ArchiveSummary> => {
  built ??= createArchiverHandler(archiverDepsFromEnv());
  return built(event, context);
};
