/**
 * cdk-nag AwsSolutions on every supported shape of the app: zero unacknowledged findings
 * (errors and warnings), and every acknowledgement carries a real reason. cdk-nag 3 is a
 * synthesis validation plugin, so bin/app.ts fails `cdk synth` on any finding as well.
 */
import { App, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '../../config/load';
import { parseConfig, type TrackerConfig } from '../../config/schema';
import { buildClickvault, type BuildOptions } from '../../lib/clickvault-app';
import { ACCOUNT, CDK_JSON_CONTEXT, ZONE } from './helpers';

const withSecrets = () => {
  const base = loadConfig();
  return parseConfig({
    ...base,
    postbackProtection: { sources: [{ id: 'ds24', keys: [{ secretsManager: 'clickvault/key' }, { ssmParameter: '/clickvault/key2' }] }] },
    digistore24: { ipn: { passphrase: { secretsManager: 'clickvault/ipn' }, events: { on_payment: { types: ['payment'] } } } },
  });
};

/** Every conversion API, tokens in Secrets Manager and SSM: the sender, its queues, schedule and alarms. */
const withConversionApis = () => {
  const base = loadConfig();
  return parseConfig({
    ...base,
    trafficChannels: [
      { id: 'facebook', name: 'Meta', clickIdParam: 'fbclid', conversionApi: { platform: 'meta', pixelId: '123456789012345', accessToken: { secretsManager: 'clickvault/meta' } } },
      { id: 'tiktok', name: 'TikTok', clickIdParam: 'ttclid', conversionApi: { platform: 'tiktok', pixelCode: 'C4ABCDEFGHIJ123', accessToken: { ssmParameter: '/clickvault/tiktok' } } },
      {
        id: 'google',
        name: 'Google',
        clickIdParam: ['gclid', 'gbraid', 'wbraid'],
        conversionApi: {
          platform: 'google-ads',
          customerId: '123-456-7890',
          developerToken: { secretsManager: 'clickvault/google-dev' },
          clientId: 'client.apps.googleusercontent.com',
          clientSecret: { secretsManager: 'clickvault/google-secret' },
          refreshToken: { ssmParameter: '/clickvault/google-refresh' },
        },
      },
    ],
    conversionTypes: base.conversionTypes.map((t) => (t.name === 'payment' ? { ...t, platformEvents: { meta: 'Purchase', tiktok: 'CompletePayment', 'google-ads': 'customers/1234567890/conversionActions/42' } } : t)),
  });
};

const SCENARIOS: [string, Record<string, unknown>, BuildOptions['env'], (() => TrackerConfig)?][] = [
  ['no domain (CloudFront default domain)', {}, undefined],
  ['domain, region-agnostic, every option on', { ...ZONE, alarmEmail: 'ops@example.com', tracing: 'true' }, undefined],
  ['domain in us-east-1', ZONE, { account: ACCOUNT, region: 'us-east-1' }],
  ['domain in eu-central-1 with a certificate stack', ZONE, { account: ACCOUNT, region: 'eu-central-1' }],
  [
    'domain with certificateArn and a web ACL',
    {
      ...ZONE,
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
      webAclArn: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/clickvault/abcd-1234',
    },
    { account: ACCOUNT, region: 'eu-west-1' },
  ],
  ['config naming secrets (postback keys, IPN passphrase)', {}, { account: ACCOUNT, region: 'eu-west-1' }, withSecrets],
  ['every conversion API (Meta, TikTok, Google Ads)', { tracing: 'true' }, { account: ACCOUNT, region: 'eu-west-1' }, withConversionApis],
];

function appFor(context: Record<string, unknown>, env: BuildOptions['env'], nag = false, config?: () => TrackerConfig): App {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });
  buildClickvault(app, { env, nag, config: config?.() });
  return app;
}

function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason }))),
  );
}

describe.each(SCENARIOS)('AwsSolutions checks: %s', (_name, context, env, config) => {
  const app = appFor(context, env, false, config);

  it('has no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map((v) => `${v.severity} ${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('gives every acknowledgement a reason a reviewer can check', () => {
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id).toMatch(/AwsSolutions-[A-Z]+[0-9]+/);
      expect(ack.reason.length).toBeGreaterThan(80);
    }
  });
});

it('acknowledges only these rules, each where it applies', () => {
  const acks = acknowledgements(appFor({ ...ZONE, tracing: 'true' }, undefined));
  const ids = [...new Set(acks.map((a) => a.id.replace(/^Annotation::/i, '').replace(/SyncFunction[0-9A-F]{8}/, 'SyncFunction<hash>').replace(/DashboardSiteBucket[0-9A-F]{8}/, 'DashboardSiteBucket<hash>')))].sort();
  expect(ids).toEqual(
    [
      'AwsSolutions-APIG4', // public tracking endpoints, per route
      'AwsSolutions-CFR1', // no geo restriction
      'AwsSolutions-CFR2', // WAF opt-in
      'AwsSolutions-CFR3', // CloudFront logs
      'AwsSolutions-DDB3', // no PITR on the IP key table: crypto-shredding
      'AwsSolutions-IAM5[Resource::<ConversionTypesSyncFunction<hash>.Arn>:*]', // Provider framework invoke
      'AwsSolutions-IAM5[Resource::*]', // X-Ray, only with tracing
      'AwsSolutions-SMG4', // origin-verify rotation
      'AwsSolutions-SQS3', // the DLQ itself
      'AwsSolutions-COG2', // dashboard: TOTP optional, not required
      'AwsSolutions-COG3', // dashboard: no threat protection (Plus plan)
      'AwsSolutions-COG8', // dashboard: Essentials plan
      'AwsSolutions-S1', // dashboard bucket: no server access logs
      // The CDK's BucketDeployment helper (deploy time only), finding by finding:
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-IAM5[Action::s3:Abort*]',
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      'AwsSolutions-IAM5[Action::s3:GetBucket*]',
      'AwsSolutions-IAM5[Action::s3:GetObject*]',
      'AwsSolutions-IAM5[Action::s3:List*]',
      'AwsSolutions-IAM5[Resource::<DashboardSiteBucket<hash>.Arn>/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
      'AwsSolutions-L1',
    ].sort(),
  );
  // CFR4 (default certificate's TLS policy) only without a custom domain.
  expect(acknowledgements(appFor({}, undefined)).some((a) => a.id.endsWith('AwsSolutions-CFR4'))).toBe(true);
});

it('a full synth with the plugin registered succeeds (what `npm run synth` does)', () => {
  const app = appFor({}, undefined, true);
  expect(() => app.synth()).not.toThrow();
});
