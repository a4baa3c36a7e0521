import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../lambda/metrics';
import { SERVICE_NAME } from './tracker-function';

/**
 * API 5xx rate alarm. The API answers 5xx only when we failed: a function crash, timeout or
 * throttle (API Gateway's 500/502/503/504), or a handler that could not do its job (500 on an
 * unexpected error, 503 when nothing could be kept or a secret could not be read). Unknown
 * routes, requests bypassing CloudFront and bad input are 4xx and never count.
 *
 * - Rate = 100 * 5xx / requests over one 5-minute period; alarm above 1 %.
 * - Only evaluated when the period saw at least 10 requests: at 10..100 requests one 5xx
 *   already alarms (10 % .. 1 %), below that a single failure of a nearly idle API is left to
 *   the dead-letter alarm and the dashboard's Lambda errors graph instead of paging someone.
 * - No requests means no data, treated as not breaching: an idle tracker is healthy.
 */
export const API_5XX_ALARM = {
  thresholdPercent: 1,
  minRequests: 10,
  period: Duration.minutes(5),
} as const;

/**
 * Lambda throttle alarms, one per request function. Any throttle is a request answered 5xx
 * (a lost click, or a postback Digistore24 has to retry): the account's concurrency quota is
 * exhausted (new accounts start at 10 concurrent executions). Alarm on the first throttled
 * invocation in a minute; no invocations means no data, treated as not breaching.
 */
export const THROTTLE_ALARM = {
  threshold: 0,
  period: Duration.minutes(1),
} as const;

/**
 * Dead letters refused by the per-source cap (`deadLetters.maxDistinctPerHour`): a source sent
 * more distinct failing requests in an hour than the queue keeps for it. Nothing of those was
 * kept (the senders were told to retry after the hour), so a person should look at once: a flood
 * (an attacker, or a misconfigured sender) or a real outage of more failures than the cap.
 */
export const DEAD_LETTERS_CAPPED_ALARM = {
  threshold: 0,
  period: Duration.minutes(5),
} as const;

export interface TrackerAlarmsProps {
  /** The API stage whose 5xx rate is watched (metrics by ApiId and Stage). */
  readonly stage: apigw.IHttpStage;
  /** The request functions, by name (`click`, `postback`, `ipn`): one throttle alarm each. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
}

const capitalize = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);

/**
 * The alarms on the request path, beside the dead-letter queue's own alarms: the API's 5xx rate,
 * throttling of each request function, and failures refused by the dead-letter cap. They have no actions of their own; the stack sends
 * them, with the queue alarm, to one AlarmTopic when `alarmEmail` is given.
 */
export class TrackerAlarms extends Construct {
  readonly api5xxRate: cloudwatch.Alarm;
  /** Failures refused by the dead-letter cap (DeadLettersCapped metric). */
  readonly deadLettersCapped: cloudwatch.Alarm;
  /** Function name (as in props.functions) -> its throttle alarm. */
  readonly throttles: Readonly<Record<string, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: TrackerAlarmsProps) {
    super(scope, id);
    if (Object.keys(props.functions).length === 0) throw new Error('TrackerAlarms: no functions to watch');

    const { period, minRequests, thresholdPercent } = API_5XX_ALARM;
    const rate = new cloudwatch.MathExpression({
      // FILL: a period with requests but no 5xx datapoint is 0 %, not missing.
      expression: `IF(requests >= ${minRequests}, 100 * FILL(errors, 0) / requests, 0)`,
      usingMetrics: {
        errors: props.stage.metricServerError({ period, statistic: cloudwatch.Stats.SUM }),
        requests: props.stage.metricCount({ period, statistic: cloudwatch.Stats.SUM }),
      },
      period,
      label: 'API 5xx rate (%)',
    });
    this.api5xxRate = rate.createAlarm(this, 'Api5xxRate', {
      alarmDescription:
        `Clickvault: more than ${thresholdPercent} % of API requests answered 5xx in ${period.toMinutes()} minutes ` +
        `(evaluated from ${minRequests} requests). Clicks or postbacks are failing: check the dashboard's Lambda ` +
        'errors and throttles, then the function logs. See docs/deploy.md, "Alarms".',
      threshold: thresholdPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.deadLettersCapped = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: METRIC_NAMES.deadLettersCapped,
      dimensionsMap: { service: SERVICE_NAME },
      statistic: cloudwatch.Stats.SUM,
      period: DEAD_LETTERS_CAPPED_ALARM.period,
    }).createAlarm(this, 'DeadLettersCapped', {
      alarmDescription:
        'Clickvault: failing requests were refused instead of queued, because their source reached ' +
        'deadLetters.maxDistinctPerHour distinct failures this hour (they were answered 503 with Retry-After; nothing was ' +
        'kept). The function log names the source (capSource). See docs/deploy.md, "Alarms".',
      threshold: DEAD_LETTERS_CAPPED_ALARM.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const throttles: Record<string, cloudwatch.Alarm> = {};
    for (const [name, fn] of Object.entries(props.functions)) {
      throttles[name] = fn
        .metricThrottles({ period: THROTTLE_ALARM.period, statistic: cloudwatch.Stats.SUM })
        .createAlarm(this, `${capitalize(name)}Throttles`, {
          alarmDescription:
            `Clickvault: the ${name} function was throttled (requests refused with 5xx). The account's Lambda ` +
            'concurrency quota is exhausted: raise it in Service Quotas, or find what else uses it. ' +
            'See docs/deploy.md, "Alarms".',
          threshold: THROTTLE_ALARM.threshold,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
    }
    this.throttles = throttles;
  }

  /** Every alarm of this construct. */
  get all(): cloudwatch.Alarm[] {
    return [this.api5xxRate, this.deadLettersCapped, ...Object.values(this.throttles)];
  }
}
