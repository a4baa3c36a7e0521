import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * Where the functions put what they could not store (a click or postback that failed after
 * retries), so nothing is lost silently: encrypted (SQS-managed keys), reachable only over TLS,
 * kept for the SQS maximum of 14 days, with an alarm as soon as one message is visible. Who is
 * told is the stack's choice (AlarmTopic, when `alarmEmail` is given).
 */
export class DeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly alarm: cloudwatch.Alarm;

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
  }
}
