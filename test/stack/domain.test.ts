/**
 * The custom tracking domain in each supported shape: certificate created in the stack (us-east-1
 * or region-agnostic), in a us-east-1 certificate stack (other regions), or given by ARN; plus
 * the optional features switched on by context.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../config/load';
import { parseConfig } from '../../config/schema';
import { CERTIFICATE_STACK_NAME } from '../../lib/clickvault-app';
import { ACCOUNT, ZONE, build, grants, logicalId, resources, roleStatements, stackNames } from './helpers';

const CERT_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

function distributionConfig(template: Template): Record<string, unknown> {
  const [distribution] = Object.values(resources(template, 'AWS::CloudFront::Distribution'));
  return (distribution?.Properties as { DistributionConfig: Record<string, unknown> }).DistributionConfig;
}

describe('custom domain, certificate created in the stack', () => {
  const agnostic = () => build(ZONE);

  it('creates a DNS-validated certificate in the hosted zone given by id (no lookup)', () => {
    const { template } = agnostic();
    template.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: ZONE.domainName,
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: ZONE.domainName, HostedZoneId: ZONE.hostedZoneId }],
    });
  });

  it('serves the domain with TLS 1.2+ over SNI and points A and AAAA alias records at CloudFront', () => {
    const { template } = agnostic();
    const certificateId = logicalId(template, 'AWS::CertificateManager::Certificate', 'Domain');
    expect(distributionConfig(template)).toMatchObject({
      Aliases: [ZONE.domainName],
      ViewerCertificate: { AcmCertificateArn: { Ref: certificateId }, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' },
    });
    const distributionId = logicalId(template, 'AWS::CloudFront::Distribution', 'Cdn');
    for (const type of ['A', 'AAAA']) {
      template.hasResourceProperties('AWS::Route53::RecordSet', {
        Name: `${ZONE.domainName}.`,
        Type: type,
        HostedZoneId: ZONE.hostedZoneId,
        AliasTarget: {
          DNSName: { 'Fn::GetAtt': [distributionId, 'DomainName'] },
          HostedZoneId: { 'Fn::FindInMap': ['AWSCloudFrontPartitionHostedZoneIdMap', { Ref: 'AWS::Partition' }, 'zoneId'] },
        },
      });
    }
    template.resourceCountIs('AWS::Route53::RecordSet', 2);
    template.resourceCountIs('AWS::Route53::HostedZone', 0); // the zone is used, never created
  });

  it('refuses, before creating anything, to deploy outside us-east-1 when the region is unknown at synth', () => {
    const { template } = agnostic();
    const rules = template.toJSON().Rules as Record<string, unknown>;
    const ruleId = Object.keys(rules).find((id) => id.startsWith('DomainCertificateRegion'));
    expect(rules[ruleId ?? 'missing']).toEqual({
      Assertions: [
        {
          Assert: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] },
          AssertDescription: expect.stringContaining('must be deployed to us-east-1'),
        },
      ],
    });
  });

  it('needs no region rule when the stack is in us-east-1', () => {
    const { template } = build(ZONE, { env: { account: ACCOUNT, region: 'us-east-1' } });
    template.resourceCountIs('AWS::CertificateManager::Certificate', 1);
    expect(Object.keys(template.toJSON().Rules)).toEqual(['CheckBootstrapVersion']);
  });

  it('puts the domain into every URL output', () => {
    const { template } = agnostic();
    template.hasOutput('TrackingHost', { Value: ZONE.domainName });
    template.hasOutput('ClickUrlPattern', { Value: `https://${ZONE.domainName}/click/<campaignId>` });
    template.hasOutput('Digistore24AffiliatePostbackUrl', {
      Value: `https://${ZONE.domainName}/postback?clickid={cid}&sum={amount_affiliate}&currency={currency}&txid={transaction_id}&key=<see npm run urls>&type=`,
    });
    template.hasOutput('Digistore24VendorPostbackUrl', {
      Value: `https://${ZONE.domainName}/postback?clickid={cid}&sum={amount_netto}&currency={currency}&txid={transaction_id}&key=<see npm run urls>&type=`,
    });
    template.hasOutput('Digistore24IpnUrl', { Value: `https://${ZONE.domainName}/ipn/digistore24` });
    template.hasOutput('Digistore24OrderFormPixelUrl', {
      Value: `https://${ZONE.domainName}/postback?format=img&clickid=__cid__&type=InitiateCheckout`,
    });
  });
});

describe('custom domain, stack outside us-east-1', () => {
  const built = () => build(ZONE, { env: { account: ACCOUNT, region: 'eu-central-1' } });

  it('adds a us-east-1 certificate stack and reads the certificate through a cross-region reference', () => {
    const { app, tracker, certificate, template } = built();
    expect(stackNames(app)).toEqual([CERTIFICATE_STACK_NAME, 'Clickvault']);
    expect(certificate?.region).toBe('us-east-1');
    expect(tracker.region).toBe('eu-central-1');
    expect(tracker.dependencies).toContain(certificate);

    const certTemplate = Template.fromStack(certificate!);
    certTemplate.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: ZONE.domainName,
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: ZONE.domainName, HostedZoneId: ZONE.hostedZoneId }],
    });
    template.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    // With the recommended feature flags (cdk.json) the cross-region reference is CloudFormation's
    // Fn::GetStackOutput on an output of the certificate stack - no custom resource involved.
    const viewer = distributionConfig(template).ViewerCertificate as { AcmCertificateArn: { 'Fn::GetStackOutput': { OutputName: string } } };
    expect(viewer.AcmCertificateArn).toEqual({
      'Fn::GetStackOutput': { StackName: CERTIFICATE_STACK_NAME, Region: 'us-east-1', OutputName: expect.any(String) },
    });
    const certificateId = logicalId(certTemplate, 'AWS::CertificateManager::Certificate', 'Certificate');
    certTemplate.hasOutput(viewer.AcmCertificateArn['Fn::GetStackOutput'].OutputName, { Value: { Ref: certificateId } });
    expect(Object.keys(template.toJSON().Rules)).toEqual(['CheckBootstrapVersion']);
  });

  it('needs a known account for the certificate stack, and says what to do instead', () => {
    expect(() => build(ZONE, { env: { region: 'eu-central-1' } })).toThrow(/needs a known AWS account.*certificateArn/s);
  });

  it('uses an existing certificate by ARN without a certificate stack', () => {
    const { app, template } = build({ ...ZONE, certificateArn: CERT_ARN }, { env: { account: ACCOUNT, region: 'eu-central-1' } });
    expect(stackNames(app)).toEqual(['Clickvault']);
    template.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    expect(distributionConfig(template).ViewerCertificate).toMatchObject({ AcmCertificateArn: CERT_ARN, MinimumProtocolVersion: 'TLSv1.2_2021' });
  });
});

describe('hosted zone lookup', () => {
  it('is refused with a clear message when synth has no account/region to look up with', () => {
    expect(() => build({ domainName: ZONE.domainName, hostedZoneName: ZONE.hostedZoneName })).toThrow(
      /Looking up the hosted zone example\.com needs an AWS account and region.*-c hostedZoneId=/s,
    );
  });

  it('looks the zone up by name when account and region are known', () => {
    const { app } = build(
      { domainName: ZONE.domainName, hostedZoneName: ZONE.hostedZoneName },
      { env: { account: ACCOUNT, region: 'us-east-1' } },
    );
    // Offline, the CLI would perform this lookup with credentials and cache it in cdk.context.json.
    const missing = app.synth().manifest.missing ?? [];
    expect(missing).toEqual([
      expect.objectContaining({ provider: 'hosted-zone', props: expect.objectContaining({ domainName: 'example.com', account: ACCOUNT, region: 'us-east-1' }) }),
    ]);
  });
});

describe('inconsistent context fails synth', () => {
  it.each([
    [{ domainName: 'trk.example.org', hostedZoneName: 'example.com', hostedZoneId: 'Z0123' }, /not inside the hosted zone example\.com/],
    [{ hostedZoneId: 'Z0123' }, /hostedZoneId needs hostedZoneName/],
    [{ ...ZONE, certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc' }, /certificateArn must be in us-east-1/],
  ])('%j', (context, message) => {
    expect(() => build(context)).toThrow(message);
  });
});

describe('optional features', () => {
  it('alarmEmail: an encrypted, TLS-only SNS topic with the e-mail subscribed, on alarm and OK', () => {
    const { template } = build({ alarmEmail: 'ops@example.com' });
    const keyId = logicalId(template, 'AWS::KMS::Key', 'AlarmTopic');
    const topicId = logicalId(template, 'AWS::SNS::Topic', 'AlarmTopic');
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: topicId } });
    const policy = Object.values(resources(template, 'AWS::SNS::TopicPolicy'))[0]?.Properties as {
      PolicyDocument: { Statement: { Effect: string; Condition?: unknown }[] };
    };
    expect(policy.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    const queueAlarm = resources(template)[logicalId(template, 'AWS::CloudWatch::Alarm', 'DeadLettersNotEmpty')]?.Properties;
    expect(queueAlarm).toMatchObject({ AlarmActions: [{ Ref: topicId }], OKActions: [{ Ref: topicId }] });
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    const keyPolicy = resources(template)[keyId]?.Properties?.KeyPolicy as { Statement: { Principal?: unknown; Action: unknown }[] };
    expect(keyPolicy.Statement).toContainEqual(
      expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
    );
  });

  it('tracing: X-Ray active, and "*" appears only in the X-Ray statement', () => {
    const { template } = build({ tracing: 'true' });
    for (const fn of ['ClickFunction', 'PostbackFunction', 'ConversionTypesSyncFunction']) {
      const id = logicalId(template, 'AWS::Lambda::Function', fn);
      expect(resources(template)[id]?.Properties?.TracingConfig).toEqual({ Mode: 'Active' });
      const role = (resources(template)[id]?.Properties as { Role: { 'Fn::GetAtt': [string] } }).Role['Fn::GetAtt'][0];
      const wildcard = grants(roleStatements(template, role)).filter((g) => g.endsWith(' "*"'));
      expect(wildcard).toEqual(['xray:PutTelemetryRecords "*"', 'xray:PutTraceSegments "*"']);
    }
  });

  it('throttling from -c strings', () => {
    const { template } = build({ throttleRateLimit: '50', throttleBurstLimit: '100' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 } });
  });

  it('log retention and level from context', () => {
    const { template } = build({ logRetentionDays: '30', logLevel: 'debug' });
    for (const group of Object.values(resources(template, 'AWS::Logs::LogGroup'))) {
      expect(group.Properties?.RetentionInDays).toBe(30);
    }
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { POWERTOOLS_LOG_LEVEL: 'DEBUG' } } });
  });

  it('webAclArn: attached to the distribution', () => {
    const arn = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/clickvault/abcd-1234';
    const { template } = build({ webAclArn: arn });
    expect(distributionConfig(template).WebACLId).toBe(arn);
  });
});

describe('secrets named by the config', () => {
  it('are readable by exactly the function that uses them: postback keys by postback, the IPN passphrase by IPN', () => {
    const base = loadConfig();
    const config = parseConfig({
      ...base,
      postbackProtection: {
        sources: [
          {
            id: 'ds24',
            // env beside an AWS reference is for npm start: it needs no grant (env alone fails synth, see app.test.ts).
            keys: [{ secretsManager: 'clickvault/postback-key', env: 'LOCAL_KEY' }, { ssmParameter: '/clickvault/postback-key-2' }],
          },
        ],
      },
      digistore24: {
        ipn: {
          passphrase: { secretsManager: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ipn-AbCdEf' },
          events: { on_payment: { types: ['payment'] } },
        },
      },
    });
    const { template } = build({}, { config, env: { account: ACCOUNT, region: 'eu-west-1' } });
    const roleOf = (prefix: string) => {
      const fn = resources(template)[logicalId(template, 'AWS::Lambda::Function', prefix)];
      return (fn?.Properties as { Role: { 'Fn::GetAtt': [string] } }).Role['Fn::GetAtt'][0];
    };
    const secretGrants = (prefix: string) => grants(roleStatements(template, roleOf(prefix))).filter((g) => /secretsmanager|ssm:/.test(g));
    expect(secretGrants('PostbackFunction')).toEqual([
      'secretsmanager:GetSecretValue "arn:aws:secretsmanager:eu-west-1:123456789012:secret:clickvault/postback-key-??????"',
      'ssm:GetParameter "arn:aws:ssm:eu-west-1:123456789012:parameter/clickvault/postback-key-2"',
    ]);
    expect(secretGrants('IpnFunction')).toEqual([
      'secretsmanager:GetSecretValue "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ipn-AbCdEf"',
    ]);
    expect(secretGrants('ClickFunction')).toEqual([]);
  });
});

describe('forwarding conversions to traffic channels', () => {
  const forwardingConfig = () => {
    const base = loadConfig();
    return parseConfig({
      ...base,
      trafficChannels: base.trafficChannels.map((c, i) =>
        i === 0 ? { ...c, postbackUrl: 'https://channel.example.com/pb?click={clickid}&payout={payout}' } : c,
      ),
    });
  };

  it('never lets the request functions update a conversion: forwarding is the sender\'s, fed by the send queue', () => {
    const access = (config: ReturnType<typeof loadConfig>) => {
      const { template } = build({}, { config });
      const conversions = logicalId(template, 'AWS::DynamoDB::Table', 'TablesConversions');
      const queues = Object.keys(resources(template, 'AWS::SQS::Queue')).filter((id) => id.startsWith('SenderQueue'));
      return ['ClickFunction', 'PostbackFunction', 'IpnFunction'].map((prefix) => {
        const fn = resources(template)[logicalId(template, 'AWS::Lambda::Function', prefix)];
        const role = (fn?.Properties as { Role: { 'Fn::GetAtt': [string] } }).Role['Fn::GetAtt'][0];
        const list = grants(roleStatements(template, role));
        return {
          update: list.some((g) => g.startsWith('dynamodb:UpdateItem') && g.includes(conversions)),
          sendQueue: list.some((g) => g.startsWith('sqs:SendMessage') && queues.some((q) => g.includes(q))),
        };
      });
    };
    expect(access(loadConfig())).toEqual([{ update: false, sendQueue: false }, { update: false, sendQueue: false }, { update: false, sendQueue: false }]);
    expect(access(forwardingConfig())).toEqual([{ update: false, sendQueue: false }, { update: false, sendQueue: true }, { update: false, sendQueue: true }]);
  });
});
