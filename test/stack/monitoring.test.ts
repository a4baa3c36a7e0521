/**
 * Watching the tracker: the CloudWatch dashboard (business metrics from lambda/metrics.ts beside
 * API Gateway, Lambda and the dead-letter queue) and the alarms that join the queue alarm, with
 * and without an alarm e-mail.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { API_5XX_ALARM } from '../../lib/tracker-alarms';
import { build, logicalId, resources } from './helpers';

let template: Template;
let ids: Record<'click' | 'postback' | 'ipn' | 'api', string>;

beforeAll(() => {
  ({ template } = build());
  const fn = (prefix: string) => logicalId(template, 'AWS::Lambda::Function', prefix);
  ids = {
    click: fn('ClickFunction'),
    postback: fn('PostbackFunction'),
    ipn: fn('IpnFunction'),
    api: logicalId(template, 'AWS::ApiGatewayV2::Api', 'Api'),
  };
});

describe('alarms', () => {
  type AlarmProps = Record<string, unknown> & { Metrics?: Record<string, unknown>[] };
  const alarms = (t: Template = template) => Object.entries(resources(t, 'AWS::CloudWatch::Alarm')).map(([id, r]) => [id, r.Properties as AlarmProps] as const);
  const alarm = (prefix: string, t: Template = template) => resources(t)[logicalId(t, 'AWS::CloudWatch::Alarm', prefix)]?.Properties as AlarmProps;

  it('are the queue alarm, the API 5xx rate and one throttle alarm per request function', () => {
    expect(alarms().map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(
      ['AlarmsApi5xxRate', 'AlarmsClickThrottles', 'AlarmsIpnThrottles', 'AlarmsPostbackThrottles', 'DeadLettersNotEmpty'].sort(),
    );
    for (const [, props] of alarms()) {
      expect(props.TreatMissingData).toBe('notBreaching'); // an idle tracker is healthy
      expect(props.AlarmDescription).toEqual(expect.any(String));
    }
  });

  it('API 5xx rate: 100 * 5xx / Count of the $default stage over 5 minutes, above 1 %, from 10 requests', () => {
    const props = alarm('AlarmsApi5xxRate');
    expect(props).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(props.MetricName).toBeUndefined();
    const stat = (name: string) => ({
      Metric: { Namespace: 'AWS/ApiGateway', MetricName: name, Dimensions: [{ Name: 'ApiId', Value: { Ref: ids.api } }, { Name: 'Stage', Value: '$default' }] },
      Period: 300,
      Stat: 'Sum',
    });
    const metrics = props.Metrics ?? [];
    expect(metrics).toHaveLength(3);
    expect(metrics).toContainEqual({ Id: 'errors', MetricStat: stat('5xx'), ReturnData: false });
    expect(metrics).toContainEqual({ Id: 'requests', MetricStat: stat('Count'), ReturnData: false });
    const returned = metrics.filter((m) => m.ReturnData !== false);
    expect(returned).toEqual([expect.objectContaining({ Expression: 'IF(requests >= 10, 100 * FILL(errors, 0) / requests, 0)', ReturnData: true })]);
  });

  it('API 5xx rate: the expression is quiet below the minimum request count and breaches only above 1 %', () => {
    const expression = String(alarm('AlarmsApi5xxRate').Metrics?.find((m) => m.ReturnData === true)?.Expression);
    // CloudWatch metric math, evaluated on one datapoint: IF(cond, a, b) and FILL(x, v).
    const evaluate = new Function('IF', 'FILL', 'requests', 'errors', `return ${expression};`) as (
      iff: (c: boolean, a: number, b: number) => number,
      fill: (x: number | undefined, v: number) => number,
      requests: number,
      errors: number | undefined,
    ) => number;
    const rate = (requests: number, errors: number | undefined) =>
      evaluate((c, a, b) => (c ? a : b), (x, v) => x ?? v, requests, errors);
    const breaches = (requests: number, errors: number | undefined) => rate(requests, errors) > API_5XX_ALARM.thresholdPercent;
    expect(breaches(9, 9)).toBe(false); // below 10 requests: not evaluated
    expect(breaches(10, 1)).toBe(true); // 10 %
    expect(breaches(100, 1)).toBe(false); // exactly 1 %
    expect(breaches(1000, 11)).toBe(true); // 1.1 %
    expect(breaches(500, undefined)).toBe(false); // requests but no 5xx datapoint
    expect(rate(200, 3)).toBeCloseTo(1.5);
  });

  it('throttles: any throttled invocation of a request function in a minute', () => {
    for (const [name, fn] of [['Click', ids.click], ['Postback', ids.postback], ['Ipn', ids.ipn]] as const) {
      expect(alarm(`Alarms${name}Throttles`)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
        Statistic: 'Sum',
        Period: 60,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('without alarmEmail: no topic, and no alarm has actions', () => {
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    for (const [, props] of alarms()) {
      expect(props.AlarmActions).toBeUndefined();
      expect(props.OKActions).toBeUndefined();
    }
  });

  it('with alarmEmail: every alarm, the queue alarm included, tells the one topic on alarm and on recovery', () => {
    const { template: withEmail } = build({ alarmEmail: 'ops@example.com' });
    withEmail.resourceCountIs('AWS::SNS::Topic', 1);
    const topic = { Ref: logicalId(withEmail, 'AWS::SNS::Topic', 'AlarmTopic') };
    const all = alarms(withEmail);
    expect(all).toHaveLength(5);
    for (const [, props] of all) {
      expect(props.AlarmActions).toEqual([topic]);
      expect(props.OKActions).toEqual([topic]);
    }
  });
});
