/**
 * The silent-breakage alarm in the template: the check function on its 15-minute schedule with
 * exactly its read grants, one CloudWatch alarm per campaign whose alarm is on (its metric,
 * threshold, period and actions; none for a campaign with `silenceAlarm: false`), the "check not
 * running" alarm, and nothing at all when every campaign has it off.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { parseConfig, type TrackerConfig } from '../../config/schema';
import { HANDLER_DEADLINE_MS } from '../../lambda/contract';
import { SILENCE_ALARMS, SILENCE_CHECK_ENTRY, SILENCE_SCHEDULE } from '../../lib/silence-alarm';
import { testConfig } from '../support/config';
import { arnOf, build, grants, logicalId, resources, roleStatements } from './helpers';

/** demo: on with the defaults (6 h, 500); split: off; lp: its own 12 h and 50 clicks. */
function configWith(defaultsSilence: unknown, own: Record<string, unknown>): TrackerConfig {
  const base = testConfig();
  return parseConfig({
    ...base,
    defaults: { ...base.defaults, silenceAlarm: defaultsSilence },
    campaigns: [...base.campaigns, { ...base.campaigns[1], id: 'lp-test', name: 'Lander test' }].map((c) => (own[c.id] === undefined ? c : { ...c, silenceAlarm: own[c.id] })),
  });
}

let template: Template;
let ids: Record<'clicks' | 'conversions' | 'catalog' | 'rollups' | 'fn' | 'role' | 'topic', string>;
const alarms = () => Object.entries(resources(template, 'AWS::CloudWatch::Alarm')).filter(([, a]) => a.Properties?.MetricName === 'SilentCampaign');

beforeAll(() => {
  ({ template } = build({ alarmEmail: 'ops@example.com' }, { config: configWith({ hours: 6, minClicks: 500 }, { split: false, 'lp-test': { hours: 12, minClicks: 50 } }) }));
  const table = (prefix: string) => logicalId(template, 'AWS::DynamoDB::Table', `Tables${prefix}`);
  ids = {
    clicks: table('Clicks'),
    conversions: table('Conversions'),
    catalog: table('Catalog'),
    rollups: table('Rollups'),
    fn: logicalId(template, 'AWS::Lambda::Function', 'SilenceCheckFunction'),
    role: logicalId(template, 'AWS::IAM::Role', 'SilenceCheckFunctionRole'),
    topic: logicalId(template, 'AWS::SNS::Topic', 'AlarmTopic'),
  };
});

const props = (id: string) => resources(template)[id]?.Properties ?? {};

describe('check function', () => {
  it('runs every 15 minutes, without retries (the next run looks again)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: arnOf(ids.fn), RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 900 } })],
    });
    expect(SILENCE_CHECK_ENTRY).toBe('lambda/handlers/silence-check.ts');
  });

  it('has its deadline inside its timeout, arm64, the bundled config and the four tables it reads', () => {
    const p = props(ids.fn) as { Timeout: number; MemorySize: number; Architectures: string[]; Environment: { Variables: Record<string, unknown> } };
    expect(p.Timeout).toBe(SILENCE_SCHEDULE.timeout.toSeconds());
    expect(p.Timeout * 1000).toBeGreaterThan(HANDLER_DEADLINE_MS.silenceCheck + 1000);
    expect(p.MemorySize).toBe(SILENCE_SCHEDULE.memorySize);
    expect(p.Architectures).toEqual(['arm64']);
    expect(Object.keys(p.Environment.Variables).sort()).toEqual(['CATALOG_TABLE', 'CLICKS_TABLE', 'CONVERSIONS_TABLE', 'POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_SERVICE_NAME', 'ROLLUPS_TABLE', 'TRACKER_CONFIG'].sort());
  });

  it('may only read: clicks, the catalog, rollups, and conversions through their two indexes', () => {
    const conversionsArn = arnOf(ids.conversions);
    const index = (name: string) => JSON.stringify({ 'Fn::Join': ['', [conversionsArn, `/index/${name}`]] });
    const own = grants(roleStatements(template, ids.role)).filter((g) => !g.startsWith('logs:'));
    expect(own).toEqual(
      [
        `dynamodb:Query ${JSON.stringify(arnOf(ids.clicks))}`,
        `dynamodb:Query ${JSON.stringify(arnOf(ids.catalog))}`,
        `dynamodb:GetItem ${JSON.stringify(arnOf(ids.rollups))}`,
        `dynamodb:Query ${JSON.stringify(arnOf(ids.rollups))}`,
        `dynamodb:Query ${index('byCampaign')}`,
        `dynamodb:Query ${index('byClick')}`,
      ].sort(),
    );
  });
});

describe('alarms', () => {
  it('one per campaign with the alarm on (none for silenceAlarm: false), on its SilentCampaign, to the alarm topic', () => {
    const found = alarms().map(([, a]) => a.Properties as Record<string, unknown>);
    expect(found.map((a) => (a.Dimensions as { Name: string; Value: string }[]).find((d) => d.Name === 'campaign')?.Value).sort()).toEqual(['demo', 'lp-test']);
    for (const a of found) {
      expect(a).toMatchObject({
        Namespace: 'Clickvault',
        MetricName: 'SilentCampaign',
        Statistic: 'Maximum',
        Period: SILENCE_ALARMS.period.toSeconds(),
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        // A missing run keeps the state: never a false "recovered".
        TreatMissingData: 'ignore',
        AlarmActions: [{ Ref: ids.topic }],
        OKActions: [{ Ref: ids.topic }],
      });
      expect((a.Dimensions as { Name: string }[]).map((d) => d.Name).sort()).toEqual(['campaign', 'service']);
    }
    const lp = found.find((a) => JSON.stringify(a.Dimensions).includes('lp-test'));
    expect(lp?.AlarmDescription).toMatch(/campaign lp-test had at least 50 clicks in the last 12 h and no conversion arrived/);
    const demo = found.find((a) => JSON.stringify(a.Dimensions).includes('"demo"'));
    expect(demo?.AlarmDescription).toMatch(/campaign demo had at least 500 clicks in the last 6 h/);
  });

  it('the check itself: no completed run in an hour alarms (missing data breaches)', () => {
    const a = props(logicalId(template, 'AWS::CloudWatch::Alarm', 'SilenceNotRunning'));
    expect(a).toMatchObject({
      Namespace: 'Clickvault',
      MetricName: 'SilenceChecks',
      Dimensions: [{ Name: 'service', Value: 'clickvault' }],
      Statistic: 'Sum',
      Period: SILENCE_ALARMS.checksPeriod.toSeconds(),
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: ids.topic }],
    });
  });

  it('every campaign off: no function, no schedule, no alarm', () => {
    const { template: off } = build({ alarmEmail: 'ops@example.com' }, { config: configWith(false, {}) });
    expect(Object.keys(resources(off, 'AWS::Lambda::Function')).filter((id) => id.startsWith('Silence'))).toEqual([]);
    expect(Object.values(resources(off, 'AWS::Events::Rule')).map((r) => r.Properties?.ScheduleExpression)).not.toContain('rate(15 minutes)');
    expect(Object.values(resources(off, 'AWS::CloudWatch::Alarm')).filter((a) => String(a.Properties?.MetricName).startsWith('Silen'))).toEqual([]);
    // Defaults off, one campaign on: one alarm.
    const { template: one } = build({}, { config: configWith(false, { split: true }) });
    const silent = Object.values(resources(one, 'AWS::CloudWatch::Alarm')).filter((a) => a.Properties?.MetricName === 'SilentCampaign');
    expect(silent.map((a) => (a.Properties?.Dimensions as { Name: string; Value: string }[]).find((d) => d.Name === 'campaign')?.Value)).toEqual(['split']);
  });
});
