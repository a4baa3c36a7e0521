import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface DeadLetterQueueProps {
  /**
   * E-mail address told when something lands in the queue (SNS e-mail subscription; the
   * recipient must confirm it). @default - the alarm has no action; watch it in CloudWatch
   */
  readonly alarmEmail?: string;
}

/**
 * Where the functions put what they could not store (a click or postback that failed after
 * retries), so nothing is lost silently: encrypted (SQS-managed keys), reachable only over TLS,
 * kept for the SQS maximum of 14 days, with an alarm as soon as one message is visible and an
 * optional e-mail through an encrypted SNS topic.
 */
export class DeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly alarm: cloudwatch.Alarm;
  readonly topic?: sns.Topic;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps = {}) {
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

    if (props.alarmEmail !== undefined) {
      // CloudWatch can only publish to an encrypted topic whose key lets it: the AWS-managed
      // aws/sns key does not, so the topic gets its own key (with rotation).
      const key = new kms.Key(this, 'TopicKey', {
        description: 'Encrypts the Clickvault dead-letter alarm topic',
        enableKeyRotation: true,
      });
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowCloudWatchAlarmsToPublish',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'], // in a key policy, "*" means this key
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      );
      this.topic = new sns.Topic(this, 'AlarmTopic', {
        displayName: 'Clickvault dead-letter alarm',
        masterKey: key,
        enforceSSL: true,
      });
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      this.alarm.addAlarmAction(new actions.SnsAction(this.topic));
      this.alarm.addOkAction(new actions.SnsAction(this.topic));
    }
  }
}
