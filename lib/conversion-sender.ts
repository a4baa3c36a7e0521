import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { SecretRef, TrackerConfig } from '../config/schema';
import { SEND_INDEX } from '../lambda/adapters/table-definitions';
import { ENV, HANDLER_DEADLINE_MS, TABLE_ENV } from '../lambda/contract';
import { METRICS_NAMESPACE, PLATFORM_SENDS_METRIC } from '../lambda/metrics';
import type { Platform } from '../lambda/core/platforms';
import { grantSecretRefs } from './config-secrets';
import type { LogLevel } from './settings';
import { SERVICE_NAME, TrackerFunction } from './tracker-function';

/** The handler file of the sender function. */
export const SENDER_ENTRY = 'lambda/handlers/sender.ts';

/**
 * Memory and timeout of the sender. One Google upload of 2,000 rows may take tens of seconds, and
 * the hourly sweep may upload several; a queue batch is at most 10 sends of a few seconds each.
 * 256 MB: the work is waiting on HTTP, not CPU.
 */
export const SENDER_SIZING = { memorySize: 256, timeout: Duration.minutes(5) } as const;

/** How often the sweep runs (Google Ads uploads; sends whose job was lost). */
export const SWEEP_RATE = Duration.hours(1);

/**
 * Alarm on each platform's failure rate: failures (refused for good, or retries run out into the
 * dead-letter queue) over sends that ended (sent + failures) in one hour, above 10 %, evaluated
 * from 5 sends on. No sends is no data, treated as not breaching.
 */
export const PLATFORM_FAILURE_ALARM = { thresholdPercent: 10, minSends: 5, period: Duration.hours(1) } as const;

/** Every secret reference of the config's conversion APIs (the sender reads exactly these). */
export function conversionApiSecretRefs(config: TrackerConfig): SecretRef[] {
  return config.trafficChannels.flatMap((channel) => {
    const api = channel.conversionApi;
    if (!api) return [];
    if (api.platform === 'google-ads') return [api.developerToken, api.clientSecret, api.refreshToken, ...(typeof api.clientId === 'string' ? [] : [api.clientId])];
    return [api.accessToken];
  });
}

/** The platforms the config sends to. */
export function configPlatforms(config: TrackerConfig): Platform[] {
  return [...new Set(config.trafficChannels.flatMap((c) => (c.conversionApi ? [c.conversionApi.platform] : [])))];
}

/** Whether the config sends to Meta or TikTok: only then do clicks keep a sealed full address. */
export function sealsAddresses(config: TrackerConfig): boolean {
  return config.trafficChannels.some((c) => c.conversionApi?.platform === 'meta' || c.conversionApi?.platform === 'tiktok');
}

export interface ConversionSenderProps {
  readonly config: TrackerConfig;
  readonly configFile: string;
  readonly tables: { clicks: dynamodb.ITable; conversions: dynamodb.ITable; ipKeys: dynamodb.ITable };
  /** Where sends whose retries ran out go (kind `forward`, `npm run redrive`). */
  readonly deadLetterQueue: sqs.IQueue;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: LogLevel;
  readonly tracing?: boolean;
}

/**
 * Sales back to the ad platforms (issue 13), outside the request path: the send queue the
 * recording functions put jobs on, the sender function (its own role: the conversion state, the
 * click's address, the day keys, and exactly the conversion APIs' secrets), the hourly schedule
 * of its sweep, a queue for jobs that failed five times, and the alarms.
 */
export class ConversionSender extends Construct {
  readonly queue: sqs.Queue;
  /** Jobs the sender failed on five times (the store was down): the sweep still finds their conversions. */
  readonly failedJobs: sqs.Queue;
  readonly fn: TrackerFunction;
  readonly schedule: events.Rule;
  /** One failure-rate alarm per configured platform, and the failed-jobs alarm. */
  readonly alarms: cloudwatch.Alarm[];
  readonly platforms: Platform[];

  constructor(scope: Construct, id: string, props: ConversionSenderProps) {
    super(scope, id);
    const { config } = props;
    this.platforms = configPlatforms(config);

    this.failedJobs = new sqs.Queue(this, 'FailedJobs', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    Validations.of(this.failedJobs).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This is the dead-letter queue of the send queue: jobs the sender failed on five times. Nothing consumes it; its ' +
        'alarm tells a person, and the hourly sweep finds those conversions by their due mark anyway.',
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      // AWS recommends six times the consumer's timeout, so a batch is never redelivered while it runs.
      visibilityTimeout: Duration.seconds(SENDER_SIZING.timeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.failedJobs, maxReceiveCount: 5 },
    });

    this.fn = new TrackerFunction(this, 'Function', {
      entry: SENDER_ENTRY,
      description: 'Clickvault: sends recorded sales to Meta, TikTok, Google Ads and channel postback URLs (queue + hourly sweep)',
      ...SENDER_SIZING,
      deadlineMs: HANDLER_DEADLINE_MS.sender,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      ...(props.tracing !== undefined ? { tracing: props.tracing } : {}),
      configFile: props.configFile,
      environment: { [ENV.sendQueueUrl]: this.queue.queueUrl },
    })
      // The conversion: read it, claim and mark its send (conditional UpdateItems), and whether the
      // click still has sends waiting (a Query on the click's partition).
      .useTable(props.tables.conversions, TABLE_ENV.conversions, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query'])
      .useTable(props.tables.clicks, TABLE_ENV.clicks, ['dynamodb:GetItem'])
      .useDeadLetterQueue(props.deadLetterQueue);
    // The sweep reads what is due from the sparse index, and nothing else of it.
    iam.Grant.addToPrincipal({ grantee: this.fn, actions: ['dynamodb:Query'], resourceArns: [`${props.tables.conversions.tableArn}/index/${SEND_INDEX}`] });
    // Retries go back on the queue with their delay.
    iam.Grant.addToPrincipal({ grantee: this.fn, actions: ['sqs:SendMessage'], resourceArns: [this.queue.queueArn] });
    if (sealsAddresses(config)) {
      // Opening a click's sealed address needs its day key; the schedule makes and deletes keys.
      this.fn.useTable(props.tables.ipKeys, TABLE_ENV.ipKeys, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Scan']);
      // Removing the sealed address from a click once its sends are done: that attribute only.
      this.fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:UpdateItem'],
          resources: [props.tables.clicks.tableArn],
          conditions: { 'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'clickId', 'sealedIp'] } },
        }),
      );
    }
    grantSecretRefs(this.fn, conversionApiSecretRefs(config));
    this.fn.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }));

    this.schedule = new events.Rule(this, 'Sweep', {
      description: 'Clickvault: hourly sweep of the sender (Google Ads uploads, lost send jobs, IP key rotation)',
      schedule: events.Schedule.rate(SWEEP_RATE),
      targets: [new targets.LambdaFunction(this.fn, { retryAttempts: 2 })],
    });

    this.alarms = [
      ...this.platforms.map((platform) => this.failureRateAlarm(platform)),
      this.failedJobs.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }).createAlarm(this, 'FailedJobsNotEmpty', {
        alarmDescription:
          'Clickvault: the sender failed on a send job five times (DynamoDB or a secret unreadable?). Check the sender ' +
          "function's logs; the hourly sweep retries those conversions once the cause is fixed. See docs/deploy.md, \"Alarms\".",
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
  }

  /** PlatformSends{platform, outcome} of our service, summed over the alarm's period. */
  static sendsMetric(platform: string, outcome: string, period: Duration = PLATFORM_FAILURE_ALARM.period): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: PLATFORM_SENDS_METRIC,
      dimensionsMap: { service: SERVICE_NAME, platform, outcome },
      statistic: cloudwatch.Stats.SUM,
      period,
    });
  }

  private failureRateAlarm(platform: Platform): cloudwatch.Alarm {
    const { period, minSends, thresholdPercent } = PLATFORM_FAILURE_ALARM;
    const m = (outcome: string) => ConversionSender.sendsMetric(platform, outcome, period);
    const rate = new cloudwatch.MathExpression({
      expression: `IF((FILL(sent, 0) + FILL(failed, 0) + FILL(queued, 0)) >= ${minSends}, 100 * (FILL(failed, 0) + FILL(queued, 0)) / (FILL(sent, 0) + FILL(failed, 0) + FILL(queued, 0)), 0)`,
      usingMetrics: { sent: m('sent'), failed: m('failed'), queued: m('queued') },
      period,
      label: `${platform} send failure rate (%)`,
    });
    const name = platform === 'google-ads' ? 'GoogleAds' : platform.charAt(0).toUpperCase() + platform.slice(1);
    return rate.createAlarm(this, `${name}FailureRate`, {
      alarmDescription:
        `Clickvault: more than ${thresholdPercent} % of sales sent to ${platform} failed in ${period.toHours()} hour(s) ` +
        `(evaluated from ${minSends} sends). npm run trace shows the platform's answer on each conversion; ` +
        'npm run dlq lists the ones waiting for npm run redrive. See docs/deploy.md, "Alarms".',
      threshold: thresholdPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** The dashboard widget: every platform's sends by outcome. */
  widget(period: Duration = Duration.minutes(5)): cloudwatch.GraphWidget {
    return new cloudwatch.GraphWidget({
      title: 'Sales sent to the ad platforms, by platform and outcome',
      left: [
        new cloudwatch.SearchExpression({
          expression: `SEARCH('{${METRICS_NAMESPACE},service,platform,outcome} service="${SERVICE_NAME}" MetricName="${PLATFORM_SENDS_METRIC}"', 'Sum', ${period.toSeconds()})`,
          label: "${PROP('Dim.platform')} ${PROP('Dim.outcome')}",
          period,
        }),
      ],
      width: 12,
      height: 6,
      leftYAxis: { min: 0 },
    });
  }
}
