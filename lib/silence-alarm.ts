import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HANDLER_DEADLINE_MS, TABLE_ENV } from '../lambda/contract';
import type { SilenceRule } from '../lambda/core/silence';
import { METRICS_NAMESPACE, SILENCE_DIMENSION, SILENCE_METRICS } from '../lambda/metrics';
import type { LogLevel } from './settings';
import { SERVICE_NAME, TrackerFunction } from './tracker-function';

export const SILENCE_CHECK_ENTRY = 'lambda/handlers/silence-check.ts';

/**
 * The check's timing. Every 15 minutes: a silence is measured in hours, so a quarter of an hour
 * late is early enough, at a fifth of the invocations of every 3 minutes. The campaigns' alarms
 * look at one run (a 15-minute period); the "not running" alarm at an hour.
 */
export const SILENCE_SCHEDULE = {
  every: Duration.minutes(15),
  timeout: Duration.seconds(60),
  memorySize: 256,
} as const;

export const SILENCE_ALARMS = {
  /** A campaign's alarm: the largest SilentCampaign value of one period. */
  period: Duration.minutes(15),
  /** The check's own: completed runs per period; none in `notRunningPeriods` periods in a row alarms. */
  checksPeriod: Duration.minutes(30),
  notRunningPeriods: 2,
} as const;

export interface SilenceAlarmProps {
  /** The campaigns whose alarm is on (core/silence silenceRules of the validated config). */
  readonly rules: readonly SilenceRule[];
  readonly tables: {
    readonly clicks: dynamodb.ITable;
    readonly conversions: dynamodb.ITable;
    readonly catalog: dynamodb.ITable;
    readonly rollups: dynamodb.ITable;
  };
  /** The validated config JSON shipped in the bundle (the rules are read from it at run time). */
  readonly configFile: string;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: LogLevel;
  readonly tracing?: boolean;
}

/**
 * The silent-breakage alarm (README, "Silent breakage alarm"): a function on a schedule runs
 * core/silence over the campaigns whose alarm is on and publishes `SilentCampaign` (0/1, dimension
 * `campaign`) per campaign and `SilenceChecks` per completed run; one CloudWatch alarm per such
 * campaign (their names are known at synth: the config is code), and one that says the check
 * itself stopped. Nothing of this touches the click path.
 *
 * Missing data: a campaign's alarm keeps its state when a run is missing (a silent campaign stays
 * in ALARM, a healthy one stays OK — never a false "recovered"), and the check's own alarm treats
 * missing runs as breaching: a check that fails, times out, is throttled or is not invoked raises
 * "silence check not running" within an hour instead of looking like "all campaigns fine".
 */
export class SilenceAlarm extends Construct {
  readonly fn: TrackerFunction;
  readonly schedule: events.Rule;
  /** Campaign id -> its alarm. */
  readonly campaignAlarms: Readonly<Record<string, cloudwatch.Alarm>>;
  readonly notRunning: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: SilenceAlarmProps) {
    super(scope, id);
    if (props.rules.length === 0) throw new Error('SilenceAlarm: no campaign has the silence alarm on (leave the construct out)');
    const { tables } = props;

    this.fn = new TrackerFunction(this, 'CheckFunction', {
      entry: SILENCE_CHECK_ENTRY,
      description: 'Clickvault: raises the silent-breakage alarm (campaigns with clicks and no postback for hours), on a schedule',
      memorySize: SILENCE_SCHEDULE.memorySize,
      timeout: SILENCE_SCHEDULE.timeout,
      deadlineMs: HANDLER_DEADLINE_MS.silenceCheck,
      configFile: props.configFile,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      tracing: props.tracing,
    })
      // A campaign's clicks of the open hours: Query on the table itself.
      .useTable(tables.clicks, TABLE_ENV.clicks, ['dynamodb:Query'])
      // The rollup retention history.
      .useTable(tables.catalog, TABLE_ENV.catalog, ['dynamodb:Query'])
      // Rollups: the upkeep's state (GetItem), marks, parts and spend (Query); never a write.
      .useTable(tables.rollups, TABLE_ENV.rollups, ['dynamodb:GetItem', 'dynamodb:Query']);
    // Conversions only through their indexes: by click time (the report's read) and by arrival
    // (the newest that counts); never the table's items.
    iam.Grant.addToPrincipal({
      grantee: this.fn,
      actions: ['dynamodb:Query'],
      resourceArns: [`${tables.conversions.tableArn}/index/byCampaign`, `${tables.conversions.tableArn}/index/byClick`],
    });
    this.fn.addEnvironment(TABLE_ENV.conversions, tables.conversions.tableName);

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Clickvault: runs the silent-breakage check',
      schedule: events.Schedule.rate(SILENCE_SCHEDULE.every),
      // A failed run is not retried: the next one looks at the same hours a quarter later.
      targets: [new targets.LambdaFunction(this.fn, { retryAttempts: 0, maxEventAge: SILENCE_SCHEDULE.every })],
    });

    const alarms: Record<string, cloudwatch.Alarm> = {};
    for (const rule of props.rules) {
      alarms[rule.campaignId] = new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: SILENCE_METRICS.silent,
        dimensionsMap: { service: SERVICE_NAME, [SILENCE_DIMENSION]: rule.campaignId },
        period: SILENCE_ALARMS.period,
        statistic: cloudwatch.Stats.MAXIMUM,
      }).createAlarm(this, `Silent-${rule.campaignId}`, {
        alarmDescription:
          `Clickvault: campaign ${rule.campaignId} had at least ${rule.minClicks} clicks in the last ${rule.hours} h and no conversion arrived. ` +
          'Check its Digistore24 postback URL (npm run urls prints it; the key, the product, the IPN) and the offer link; ' +
          'npm run trace -- <click id> shows what arrived. Config: silenceAlarm. See README, "Silent breakage alarm".',
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // A missing run changes nothing here; the check's own alarm below says it is missing.
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      });
    }
    this.campaignAlarms = alarms;

    this.notRunning = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: SILENCE_METRICS.checks,
      dimensionsMap: { service: SERVICE_NAME },
      period: SILENCE_ALARMS.checksPeriod,
      statistic: cloudwatch.Stats.SUM,
    }).createAlarm(this, 'NotRunning', {
      alarmDescription:
        `Clickvault: the silent-breakage check completed no run for ${SILENCE_ALARMS.checksPeriod.toMinutes() * SILENCE_ALARMS.notRunningPeriods} minutes ` +
        "(it fails, times out or is not invoked): until it runs again, no campaign's silence is noticed. See the check function's log and docs/deploy.md, \"Alarms\".",
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: SILENCE_ALARMS.notRunningPeriods,
      datapointsToAlarm: SILENCE_ALARMS.notRunningPeriods,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }

  get allAlarms(): cloudwatch.Alarm[] {
    return [...Object.values(this.campaignAlarms), this.notRunning];
  }
}
