import { Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface AlarmTopicProps {
  /** Address subscribed to the topic (SNS e-mail subscription; the recipient must confirm it). */
  readonly email: string;
}

/**
 * Where every Clickvault alarm is sent: one encrypted, TLS-only SNS topic with one e-mail
 * subscription. `notify` makes an alarm publish to it when it fires and when it recovers, so
 * the recipient also learns that a problem is over.
 */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;
  private readonly action: cloudwatch.IAlarmAction;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    // CloudWatch can only publish to an encrypted topic whose key lets it: the AWS-managed
    // aws/sns key does not, so the topic gets its own key (with rotation).
    const key = new kms.Key(this, 'Key', {
      description: 'Encrypts the Clickvault alarm topic',
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
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Clickvault alarms',
      masterKey: key,
      enforceSSL: true,
    });
    this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    this.action = new actions.SnsAction(this.topic);
  }

  /** Sends each alarm's ALARM and OK transitions to the topic. */
  notify(...alarms: cloudwatch.Alarm[]): void {
    for (const alarm of alarms) {
      alarm.addAlarmAction(this.action);
      alarm.addOkAction(this.action);
    }
  }
}
