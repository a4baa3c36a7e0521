import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ContextError, parseSettings, type ContextKey } from '../../lib/settings';

const parse = (context: Partial<Record<ContextKey, unknown>>) => parseSettings((key) => context[key]);

function problems(context: Partial<Record<ContextKey, unknown>>): string[] {
  try {
    parse(context);
  } catch (err) {
    if (err instanceof ContextError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ContextError');
}

describe('parseSettings', () => {
  it('has defaults that need no context at all (CloudFront default domain)', () => {
    expect(parse({})).toEqual({
      domain: undefined,
      alarmEmail: undefined,
      throttle: { rateLimit: 1000, burstLimit: 2000 },
      logRetention: RetentionDays.THREE_MONTHS,
      logLevel: 'INFO',
      tracing: false,
      webAclArn: undefined,
      deferIndexes: [],
    });
  });

  it('reads deferIndexes as a comma-separated list of known index names', () => {
    expect(parse({ deferIndexes: 'byClick, bySend,byClick' }).deferIndexes).toEqual(['byClick', 'bySend']);
    expect(problems({ deferIndexes: 'byClick,nope' })).toEqual([expect.stringMatching(/deferIndexes names "nope"/)]);
  });

  it('takes the dashboard login prefix as given', () => {
    expect(parse({ dashboardLoginPrefix: 'acme-clickvault' }).dashboardLoginPrefix).toBe('acme-clickvault');
  });

  it('accepts a domain in its zone, normalising case and a trailing dot', () => {
    expect(parse({ domainName: 'Trk.Example.com.', hostedZoneName: 'example.com', hostedZoneId: '/hostedzone/Z0123ABC' }).domain).toEqual({
      domainName: 'trk.example.com',
      hostedZoneName: 'example.com',
      hostedZoneId: 'Z0123ABC',
      certificateArn: undefined,
    });
    expect(parse({ domainName: 'example.com', hostedZoneName: 'example.com' }).domain?.domainName).toBe('example.com');
  });

  it('reads -c strings and cdk.json numbers/booleans alike', () => {
    const fromCli = parse({ throttleRateLimit: '50', throttleBurstLimit: '100', logRetentionDays: '30', tracing: 'true', logLevel: 'debug' });
    const fromJson = parse({ throttleRateLimit: 50, throttleBurstLimit: 100, logRetentionDays: 30, tracing: true, logLevel: 'DEBUG' });
    expect(fromCli).toEqual(fromJson);
    expect(fromCli).toMatchObject({ throttle: { rateLimit: 50, burstLimit: 100 }, logRetention: 30, tracing: true, logLevel: 'DEBUG' });
  });

  it.each([
    [{ domainName: 'trk.example.org', hostedZoneName: 'example.com' }, 'domainName trk.example.org is not inside the hosted zone example.com'],
    [{ domainName: 'notexample.com', hostedZoneName: 'example.com' }, 'not inside the hosted zone example.com'],
    [{ domainName: 'trk.example.com' }, 'domainName trk.example.com needs hostedZoneName'],
    [{ domainName: 'trk.example.com', hostedZoneId: 'Z0123' }, 'hostedZoneId needs hostedZoneName'],
    [{ hostedZoneName: 'example.com' }, 'hostedZoneName given without domainName'],
    [{ certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' }, 'certificateArn given without domainName'],
    [
      { domainName: 'trk.example.com', hostedZoneName: 'example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc-1' },
      'certificateArn must be in us-east-1',
    ],
    [{ domainName: 'trk.example.com', hostedZoneName: 'example.com', certificateArn: 'not-an-arn' }, 'certificateArn must be an ACM certificate ARN'],
    [{ domainName: 'trk.example.com', hostedZoneName: 'example.com', hostedZoneId: 'zone-1' }, 'hostedZoneId must look like'],
    [{ domainName: 'https://trk.example.com', hostedZoneName: 'example.com' }, 'domainName must be a DNS name'],
    [{ alarmEmail: 'ops' }, 'alarmEmail must be an e-mail address'],
    [{ throttleRateLimit: '0' }, 'throttleRateLimit must be a whole number from 1 to 10000'],
    [{ throttleBurstLimit: 'lots' }, 'throttleBurstLimit must be a whole number from 1 to 5000'],
    [{ logRetentionDays: 10 }, 'logRetentionDays must be one of'],
    [{ logLevel: 'LOUD' }, 'logLevel must be DEBUG, INFO, WARN or ERROR'],
    [{ tracing: 'yes' }, 'tracing must be true or false'],
    [{ webAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/x/abc' }, 'webAclArn must be the ARN of a global'],
    [{ domainName: 42 }, 'domainName must be a string'],
    [{ dashboardLoginPrefix: 'My_Team' }, 'dashboardLoginPrefix must be lower-case letters'],
    [{ dashboardLoginPrefix: 'team-aws-login' }, 'without aws, amazon or cognito'],
    [{ dashboardLoginPrefix: '-team' }, 'dashboardLoginPrefix must be'],
  ])('rejects %j with a clear message', (context, message) => {
    const found = problems(context);
    expect(found.join('\n')).toContain(message);
  });

  it('names every problem at once, under one heading', () => {
    expect(() => parse({ domainName: 'trk.example.org', hostedZoneName: 'example.com', alarmEmail: 'x' })).toThrow(
      /Invalid Clickvault context:\n {2}- domainName trk\.example\.org is not inside the hosted zone example\.com\n {2}- alarmEmail/,
    );
  });
});
