import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../lambda/metrics';
import { SERVICE_NAME } from './tracker-function';

/**
 * The "oldest dead letter" alarm. SQS drops a message after 14 days and the archiver moves it at
 * 10 (lambda/core/archive ARCHIVE_AFTER_DAYS), so a failure nobody looked at for a week is
 * worth a reminder well before either. It watches the larger of two ages, hourly:
 *
 * - SQS's ApproximateAgeOfOldestMessage. SQS leaves a message that was received three or more
 *   times out of it, and the archiver receives every message hourly, so on its own it soon
 *   stops seeing the old ones;
 * - the archiver's own DeadLetterOldestAge: the longest wait of any failure it read in the queue
 *   or found in the archive (so it stays in ALARM while anything waits in the archive, which
 *   the queue's not-empty alarm cannot see).
 */
export const OLDEST_DEAD_LETTER_ALARM = {
  thresholdDays: 7,
  period: Duration.hours(1),
} as const;

/**
 * Where the functions put what they could not store (a click or postback that failed after
 * retries), so nothing is lost silently: encrypted (SQS-managed keys), reachable only over TLS,
 * kept for the SQS maximum of 14 days (the archiver moves older messages out at 10), with an
 * alarm as soon as one message is visible and one when a failure has waited a week. Who is told
 * is the stack's choice (AlarmTopic, when `alarmEmail` is given).
 */
export class DeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly alarm: cloudwatch.Alarm;
  /** A failure has waited OLDEST_DEAD_LETTER_ALARM.thresholdDays (queue or archive). */
  readonly oldestAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue: the functions send it what they could not store. It is not ' +
        'consumed by a poller (a person inspects it with npm run dlq), so no redrive, and a DLQ of the DLQ would ' +
        'have nothing to catch. The alarm fires on the first message.',
    });

    this.alarm = new cloudwatch.Alarm(this, 'NotEmpty', {
      alarmDescription:
        'Clickvault could not store a click or a postback; the request is in the dead-letter queue. ' +
        'Inspect it with `npm run dlq` and replay or discard it.',
      metric: this.queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const { thresholdDays, period } = OLDEST_DEAD_LETTER_ALARM;
    const oldest = new cloudwatch.MathExpression({
      expression: 'MAX([queueAge, waiting])',
      usingMetrics: {
        queueAge: this.queue.metricApproximateAgeOfOldestMessage({ period, statistic: cloudwatch.Stats.MAXIMUM }),
        waiting: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: METRIC_NAMES.deadLetterOldestAge,
          dimensionsMap: { service: SERVICE_NAME },
          statistic: cloudwatch.Stats.MAXIMUM,
          period,
        }),
      },
      period,
      label: 'Oldest dead letter (seconds)',
    });
    this.oldestAlarm = oldest.createAlarm(this, 'OldestMessage', {
      alarmDescription:
        `Clickvault: a failure has waited ${thresholdDays} days in the dead-letter queue or its archive. Messages move ` +
        'to the archive at 10 days (SQS would drop them at 14). `npm run dlq` shows it; fix the cause and ' +
        '`npm run redrive`. See docs/deploy.md, "Alarms".',
      threshold: thresholdDays * 86400,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Every alarm of this construct. */
  get alarms(): cloudwatch.Alarm[] {
    return [this.alarm, this.oldestAlarm];
  }
}
