/**
 * The dead-letter archiver, run by an EventBridge schedule (lib/dead-letter-archiver.ts): moves
 * queue messages older than ARCHIVE_AFTER_DAYS into the archive table before SQS retention
 * (14 days) could drop them. Thin: the work is core/archive archiveOldMessages.
 *
 * Under its deadline like every handler (HANDLER_DEADLINE_MS.archiveDeadLetters, withDeadline):
 * every call it makes ends by then, each within the archiver's own call budget; it starts no new
 * message in the last ARCHIVER.finishMs, so the one being moved finishes.
 */
import { CALL_BUDGETS } from '../adapters/aws-clients';
import { createDynamoClient } from '../adapters/dynamodb-store';
import { DynamoDeadLetterArchive } from '../adapters/dead-letter-archive';
import { DynamoDeadLetterLedger } from '../adapters/dead-letter-ledger';
import { SqsDeadLetterQueue } from '../adapters/sqs-dead-letter';
import { ARCHIVER, ENV, HANDLER_DEADLINE_MS, TABLE_ENV } from '../contract';
import { archiveOldMessages, type ArchiveSummary } from '../core/archive';
import { currentDeadline } from '../core/deadline';
import type { DeadLetterArchive, DeadLetterQueue, RedriveLedger } from '../core/model';
import { logger } from '../logger';
import { archiveMetrics, publish } from '../metrics';
import { withDeadline } from './deadline';
import { requireEnv } from './runtime';

export interface ArchiverDeps {
  queue: DeadLetterQueue;
  archive: DeadLetterArchive;
  ledger: RedriveLedger;
}

export function archiverDepsFromEnv(env: NodeJS.ProcessEnv = process.env): ArchiverDeps {
  // Its own budget (adapters/aws-clients CALL_BUDGETS.archiver) on both clients: nobody waits on
  // this function, so a throttled call is retried rather than given up at a request's pace.
  const client = createDynamoClient(undefined, CALL_BUDGETS.archiver);
  return {
    queue: new SqsDeadLetterQueue(requireEnv(ENV.deadLetterQueueUrl, env), undefined, ARCHIVER.visibilitySeconds, CALL_BUDGETS.archiver),
    archive: new DynamoDeadLetterArchive(client, requireEnv(TABLE_ENV.deadLetterArchive, env)),
    ledger: new DynamoDeadLetterLedger(client, requireEnv(TABLE_ENV.deadLetterLedger, env)),
  };
}

/**
 * One archiver run under the current deadline (the handler's, or the local tracker's): no new
 * message is started in the last ARCHIVER.finishMs before it. `now`: the time ages are measured
 * against (tests move it forward; deadlines stay on real time).
 */
export function archiveRun(deps: ArchiverDeps, now: () => number = Date.now): Promise<ArchiveSummary> {
  const deadline = currentDeadline();
  const stopAt = deadline ? deadline.at - ARCHIVER.finishMs : Date.now() + HANDLER_DEADLINE_MS.archiveDeadLetters - ARCHIVER.finishMs;
  return archiveOldMessages(deps.queue, deps.archive, { deadline: stopAt, now, ledger: deps.ledger });
}

export function createArchiverHandler(deps: ArchiverDeps, options: { now?: () => number } = {}) {
  const handle = async (_event: unknown): Promise<ArchiveSummary> => {
    const now = options.now ?? Date.now;
    const summary = await archiveRun(deps, now);
    if (summary.deadlineReached) logger.warn('dead-letter archiver stopped at its deadline; the next run goes on', { ...summary });
    else logger.info('dead-letter archiver', { ...summary });
    await publish(archiveMetrics(summary, now()));
    return summary;
  };
  return withDeadline(HANDLER_DEADLINE_MS.archiveDeadLetters, handle);
}

let built: ReturnType<typeof createArchiverHandler> | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME ? createArchiverHandler(archiverDepsFromEnv()) : undefined;

/** Lambda entry point (EventBridge scheduled event). */
export const handler = async (event: unknown, context: { getRemainingTimeInMillis(): number }): Promise<ArchiveSummary> => {
  built ??= createArchiverHandler(archiverDepsFromEnv());
  return built(event, context);
};
