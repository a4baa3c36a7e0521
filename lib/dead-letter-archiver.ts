import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LEDGER_PREFIX } from '../lambda/adapters/table-definitions';
import { ARCHIVER, HANDLER_DEADLINE_MS, TABLE_ENV } from '../lambda/contract';
import type { LogLevel } from './settings';
import { TrackerFunction } from './tracker-function';

export const ARCHIVER_ENTRY = 'lambda/handlers/archive-dead-letters.ts';

export interface DeadLetterArchiverProps {
  readonly queue: sqs.IQueue;
  /** Where old messages go (no TTL). */
  readonly archive: dynamodb.ITable;
  /** Per-message leases shared with `npm run redrive`. */
  readonly ledger: dynamodb.ITable;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: LogLevel;
  /** @default false */
  readonly tracing?: boolean;
}

/**
 * Nothing may be dropped by SQS retention (14 days): a scheduled function moves every
 * dead-letter message older than 10 days into the archive table, archive first and delete
 * second, under the same per-message leases redrives take. Its own role may receive, hide and
 * delete queue messages, write archive items, and take leases (ledger items `msg#...` only);
 * nothing else. Its deadline (HANDLER_DEADLINE_MS.archiveDeadLetters) is below its timeout, and an alarm fires
 * when a run fails.
 */
export class DeadLetterArchiver extends Construct {
  readonly function: TrackerFunction;
  readonly schedule: events.Rule;
  /** A run failed (after EventBridge's retries): old messages may be waiting to move. */
  readonly errorsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeadLetterArchiverProps) {
    super(scope, id);

    this.function = new TrackerFunction(this, 'Function', {
      entry: ARCHIVER_ENTRY,
      description: 'Clickvault: hourly, moves dead letters older than 10 days from the SQS queue to the archive table',
      memorySize: 256,
      timeout: Duration.seconds(ARCHIVER.timeoutSeconds),
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      tracing: props.tracing,
      deadlineMs: HANDLER_DEADLINE_MS.archiveDeadLetters,
    })
      .useDeadLetterQueue(props.queue, ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage'])
      .useTable(props.archive, TABLE_ENV.deadLetterArchive, ['dynamodb:PutItem', 'dynamodb:Query'])
      // GetItem: reading a lease's holder where a failed condition does not return it.
      .useTableItems(props.ledger, TABLE_ENV.deadLetterLedger, ['dynamodb:UpdateItem', 'dynamodb:GetItem'], [LEDGER_PREFIX.message]);

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Clickvault: runs the dead-letter archiver',
      schedule: events.Schedule.rate(Duration.hours(ARCHIVER.everyHours)),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });

    this.errorsAlarm = this.function
      .metricErrors({ period: Duration.hours(ARCHIVER.everyHours), statistic: cloudwatch.Stats.SUM })
      .createAlarm(this, 'Errors', {
        alarmDescription:
          'Clickvault: the dead-letter archiver failed. Messages older than 10 days stay in the queue, which drops them at ' +
          '14 days: check the function log (level ERROR), and `npm run dlq`. See docs/deploy.md, "Alarms".',
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
  }
}
