import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HANDLER_DEADLINE_MS, TABLE_ENV } from '../lambda/contract';
import { METRICS_NAMESPACE, ROLLUP_METRICS } from '../lambda/metrics';
import type { LogLevel } from './settings';
import { SERVICE_NAME, TrackerFunction } from './tracker-function';

/**
 * The rollup upkeep's timing in AWS. The schedule closes hours and sweeps conversions; the
 * freshness of reports does not depend on it (what is not rolled up yet is read raw), so every
 * 5 minutes costs a fifth of every minute for the same reports. The marker's batching window
 * keeps a lander click's mark under a minute behind it.
 */
export const ROLLUP_SCHEDULE = {
  every: Duration.minutes(5),
  upkeepTimeout: Duration.minutes(2),
  markerTimeout: Duration.seconds(30),
  markerBatchSize: 1000,
  markerBatchingWindow: Duration.seconds(30),
  markerRetryAttempts: 10,
} as const;

/** The alarms: the upkeep fails, the marker fails or falls behind, rollups go stale. */
export const ROLLUP_ALARMS = {
  errorPeriods: 3,
  period: Duration.minutes(5),
  /** The marker's iterator age: stream records wait longer than this. */
  iteratorAgeMs: 10 * 60_000,
  /** Hours not rolled up for this long (a first deploy catching up on the clicks still kept raises it too). */
  staleMinutes: 180,
} as const;

export interface RollupUpkeepProps {
  readonly tables: {
    readonly clicks: dynamodb.ITable;
    readonly conversions: dynamodb.ITable;
    readonly catalog: dynamodb.ITable;
    readonly rollups: dynamodb.ITable;
  };
  /** The validated config JSON shipped in the bundle (campaigns and retention for a catalog without them). */
  readonly configFile: string;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: LogLevel;
  readonly tracing?: boolean;
}

/**
 * Keeps report rollups (lambda/core/rollup-upkeep): an upkeep function on a schedule, and a
 * marker function on the clicks table's stream (lander clicks change clicks of hours already
 * rolled up). Why both: the schedule does the work in few large reads, at a fixed small cost;
 * the stream is the only way to learn of an update to a click without an index on every click
 * (the click path stays one write). Conversions need no stream: the upkeep reads the ones that
 * arrived since its last cut from the conversions' arrival index.
 */
export class RollupUpkeep extends Construct {
  readonly upkeepFunction: TrackerFunction;
  readonly markerFunction: TrackerFunction;
  readonly schedule: events.Rule;
  readonly alarms: {
    readonly upkeepErrors: cloudwatch.Alarm;
    readonly markerErrors: cloudwatch.Alarm;
    readonly markerIteratorAge: cloudwatch.Alarm;
    readonly stale: cloudwatch.Alarm;
  };

  constructor(scope: Construct, id: string, props: RollupUpkeepProps) {
    super(scope, id);
    const { tables } = props;
    const common = { logRetention: props.logRetention, logLevel: props.logLevel, tracing: props.tracing };

    this.upkeepFunction = new TrackerFunction(this, 'UpkeepFunction', {
      entry: 'lambda/handlers/rollup-upkeep.ts',
      description: 'Clickvault: keeps report rollups (closes hours, takes in new conversions) on a schedule',
      memorySize: 512,
      timeout: ROLLUP_SCHEDULE.upkeepTimeout,
      deadlineMs: HANDLER_DEADLINE_MS.rollupUpkeep,
      configFile: props.configFile,
      ...common,
    })
      // Clicks of a campaign and hour: Query on the table itself.
      .useTable(tables.clicks, TABLE_ENV.clicks, ['dynamodb:Query'])
      // Campaigns ever deployed and the retention histories.
      .useTable(tables.catalog, TABLE_ENV.catalog, ['dynamodb:Query'])
      // Parts (put, delete), its state and lease (get, conditional update), the marks (query, delete).
      .useTable(tables.rollups, TABLE_ENV.rollups, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query']);
    // Conversions: only through the two indexes (by click time, by arrival), never the table.
    iam.Grant.addToPrincipal({
      grantee: this.upkeepFunction,
      actions: ['dynamodb:Query'],
      resourceArns: [`${tables.conversions.tableArn}/index/byClick`, `${tables.conversions.tableArn}/index/byCampaign`],
    });
    this.upkeepFunction.addEnvironment(TABLE_ENV.conversions, tables.conversions.tableName);

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Clickvault: runs the rollup upkeep',
      schedule: events.Schedule.rate(ROLLUP_SCHEDULE.every),
      // A run that fails is not retried: the next one starts from the stored state anyway.
      targets: [new targets.LambdaFunction(this.upkeepFunction, { retryAttempts: 0, maxEventAge: Duration.minutes(5) })],
    });

    this.markerFunction = new TrackerFunction(this, 'MarkerFunction', {
      entry: 'lambda/handlers/rollup-marker.ts',
      description: 'Clickvault: marks rolled-up hours whose clicks changed (clicks table stream)',
      memorySize: 256,
      timeout: ROLLUP_SCHEDULE.markerTimeout,
      deadlineMs: HANDLER_DEADLINE_MS.rollupMarker,
      ...common,
    })
      .useTable(tables.rollups, TABLE_ENV.rollups, ['dynamodb:BatchWriteItem'])
      // Whether a changed click had a lander click (a sealed address removed marks nothing).
      .useTable(tables.clicks, TABLE_ENV.clicks, ['dynamodb:BatchGetItem']);
    this.markerFunction.addEventSource(
      new DynamoEventSource(tables.clicks, {
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: ROLLUP_SCHEDULE.markerBatchSize,
        maxBatchingWindow: ROLLUP_SCHEDULE.markerBatchingWindow,
        bisectBatchOnError: true,
        retryAttempts: ROLLUP_SCHEDULE.markerRetryAttempts,
        // Only updates of stored clicks (lander clicks): inserts are read when their hour closes,
        // and deletions (TTL) never subtract; filtered before the function is invoked (not billed).
        filters: [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.isEqual('MODIFY') })],
      }),
    );
    const markerRole = this.markerFunction.role;
    if (markerRole) {
      Validations.of(markerRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Added by the DynamoDB event source mapping: dynamodb:ListStreams does not support resource-level ' +
          'permissions, so "*" is its only possible resource; reading the records is granted on the clicks stream only.',
      });
    }

    const errors = (fn: lambda.IFunction, name: string, what: string) =>
      fn
        .metricErrors({ period: ROLLUP_ALARMS.period, statistic: cloudwatch.Stats.SUM })
        .createAlarm(this, name, {
          alarmDescription: `Clickvault: ${what} failed in each of the last ${ROLLUP_ALARMS.errorPeriods} periods. Reports still read the raw data for what is not rolled up; see the function's log and docs/deploy.md, "Alarms".`,
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: ROLLUP_ALARMS.errorPeriods,
          datapointsToAlarm: ROLLUP_ALARMS.errorPeriods,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
    const upkeepErrors = errors(this.upkeepFunction, 'UpkeepErrors', 'the rollup upkeep');
    const markerErrors = errors(this.markerFunction, 'MarkerErrors', 'marking rolled-up hours from the clicks stream');
    const markerIteratorAge = new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName: 'IteratorAge',
      dimensionsMap: { FunctionName: this.markerFunction.functionName },
      period: ROLLUP_ALARMS.period,
      statistic: cloudwatch.Stats.MAXIMUM,
    }).createAlarm(this, 'MarkerIteratorAge', {
      alarmDescription:
        `Clickvault: lander clicks wait more than ${ROLLUP_ALARMS.iteratorAgeMs / 60_000} minutes in the clicks stream. ` +
        'Stream records expire after 24 hours: a mark lost then leaves that hour\'s earlier rollup (npm run rollups -- --recompute repairs it).',
      threshold: ROLLUP_ALARMS.iteratorAgeMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const stale = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: ROLLUP_METRICS.closeLag,
      dimensionsMap: { service: SERVICE_NAME },
      period: ROLLUP_ALARMS.period,
      statistic: cloudwatch.Stats.MINIMUM,
    }).createAlarm(this, 'Stale', {
      alarmDescription:
        `Clickvault: no hour was rolled up for ${ROLLUP_ALARMS.staleMinutes} minutes (or the upkeep stopped reporting). ` +
        'Reports stay right (they read the rest raw) but slower and dearer. Expected for a few hours after the first ' +
        'deploy, while the upkeep rolls up the clicks still kept; see docs/deploy.md, "Alarms".',
      threshold: ROLLUP_ALARMS.staleMinutes,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      // The upkeep runs on a schedule whatever the traffic: no data means it is not running.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.alarms = { upkeepErrors, markerErrors, markerIteratorAge, stale };
  }

  get allAlarms(): cloudwatch.Alarm[] {
    return Object.values(this.alarms);
  }
}
