/**
 * The dashboard in the template: the page in a private bucket behind its own CloudFront
 * behaviour (origin access control, strict CSP, view paths -> index.html), the Cognito user pool
 * and client as issue 15 asks, every /api route behind the JWT authorizer (and no tracking route
 * behind it), /api/* passing Authorization without caching or CORS, and a read-only API function.
 */
import { runInNewContext } from 'node:vm';
import { Match } from 'aws-cdk-lib/assertions';
import { DASHBOARD_API_ROUTES, ROUTES } from '../../lambda/contract';
import { DASHBOARD_ROUTER_CODE } from '../../lib/dashboard-site';
import { build, logicalId, resources, roleStatements, ZONE } from './helpers';

const { template } = build();

type Props = Record<string, unknown>;
const only = (type: string): Props => {
  const all = Object.values(resources(template, type));
  expect(all).toHaveLength(1);
  return (all[0]?.Properties ?? {}) as Props;
};

describe('dashboard API routes', () => {
  const routes = Object.values(resources(template, 'AWS::ApiGatewayV2::Route')).map((r) => r.Properties as Props);
  const authorizers = Object.keys(resources(template, 'AWS::ApiGatewayV2::Authorizer'));
  const authorizerId = authorizers[0] ?? '';

  it('has exactly one authorizer', () => expect(authorizers).toHaveLength(1));

  it.each(Object.values(DASHBOARD_API_ROUTES))('%s answers only with a valid user-pool token (JWT authorizer)', (routeKey) => {
    const route = routes.find((r) => r.RouteKey === routeKey);
    expect(route).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
  });

  it('has no /api route without the authorizer, and no tracking route behind it', () => {
    for (const route of routes) {
      const isApi = String(route.RouteKey).split(' ')[1]?.startsWith('/api/') === true;
      expect(route.AuthorizationType ?? 'NONE').toBe(isApi ? 'JWT' : 'NONE');
    }
    expect(routes.filter((r) => r.AuthorizationType === 'JWT')).toHaveLength(Object.keys(DASHBOARD_API_ROUTES).length);
    expect(routes.filter((r) => (r.AuthorizationType ?? 'NONE') === 'NONE').map((r) => r.RouteKey).sort()).toEqual(Object.values(ROUTES).sort());
  });

  it('the authorizer trusts exactly the user pool and the dashboard client', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Audience: [{ Ref: logicalId(template, 'AWS::Cognito::UserPoolClient', 'DashboardAuthUserPoolDashboardClient') }],
        Issuer: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([Match.objectLike({ Ref: logicalId(template, 'AWS::Cognito::UserPool', 'DashboardAuthUserPool') })])]) }),
      },
    });
  });
});

describe('dashboard login', () => {
  it('user pool: invited users only, strong passwords, optional TOTP (no SMS), kept on delete', () => {
    template.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        AdminCreateUserConfig: Match.objectLike({ AllowAdminCreateUserOnly: true }),
        Policies: { PasswordPolicy: { MinimumLength: 14, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true, TemporaryPasswordValidityDays: 3 } },
        MfaConfiguration: 'OPTIONAL',
        EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
        DeletionProtection: 'ACTIVE',
      }),
    });
  });

  it('client: public (no secret), authorization code only (PKCE in the page), redirect to /dashboard/ on the tracking host', () => {
    const client = only('AWS::Cognito::UserPoolClient');
    expect(client).toMatchObject({
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: ['openid', 'email'],
      SupportedIdentityProviders: ['COGNITO'],
      PreventUserExistenceErrors: 'ENABLED',
    });
    expect(JSON.stringify(client.CallbackURLs)).toContain('/dashboard/');
    // No password flow on the client: only the managed login's code, and refreshing it.
    expect(client.ExplicitAuthFlows).toEqual(['ALLOW_REFRESH_TOKEN_AUTH']);
    // With a custom domain the redirect is on it.
    const withDomain = build(ZONE).template;
    withDomain.hasResourceProperties('AWS::Cognito::UserPoolClient', { CallbackURLs: ['https://trk.example.com/dashboard/'], LogoutURLs: ['https://trk.example.com/dashboard/'] });
  });

  it('managed login (the newer version) on a Cognito domain', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { ManagedLoginVersion: 2 });
    template.resourceCountIs('AWS::Cognito::ManagedLoginBranding', 1);
  });
});

describe('dashboard page on CloudFront', () => {
  const distribution = only('AWS::CloudFront::Distribution').DistributionConfig as Props;
  const behaviors = (distribution.CacheBehaviors as Props[]) ?? [];
  const byPath = (path: string) => behaviors.find((b) => b.PathPattern === path) as Props;

  it('a private bucket: every public access blocked, TLS only, readable only by this distribution (OAC)', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    const policy = JSON.stringify(only('AWS::S3::BucketPolicy'));
    expect(policy).toContain('cloudfront.amazonaws.com');
    expect(policy).toContain('AWS:SourceArn');
    expect(policy).toContain('"aws:SecureTransport":"false"');
    expect(policy).not.toMatch(/"Principal":"\*","Action":"s3:GetObject"/);
  });

  it('its own behaviour: GET/HEAD, HTTPS, the router function, its cache and header policies', () => {
    const page = byPath('/dashboard*');
    expect(page).toMatchObject({ AllowedMethods: ['GET', 'HEAD'], ViewerProtocolPolicy: 'redirect-to-https', Compress: true });
    expect(page.FunctionAssociations).toEqual([{ EventType: 'viewer-request', FunctionARN: expect.anything() }]);
    expect(page.ResponseHeadersPolicyId).toEqual({ Ref: logicalId(template, 'AWS::CloudFront::ResponseHeadersPolicy', 'DashboardSiteHeaders') });
    expect(page.CachePolicyId).toEqual({ Ref: logicalId(template, 'AWS::CloudFront::CachePolicy', 'DashboardSiteCache') });
  });

  it('a strict Content Security Policy: scripts only from self, no inline, no eval, no framing', () => {
    const policy = resources(template, 'AWS::CloudFront::ResponseHeadersPolicy')[logicalId(template, 'AWS::CloudFront::ResponseHeadersPolicy', 'DashboardSiteHeaders')];
    const csp = JSON.stringify((policy?.Properties as Props).ResponseHeadersPolicyConfig);
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(csp).toContain('.amazoncognito.com');
  });

  it('the router: view paths -> index.html, assets and config as they are, /dashboard -> /dashboard/', () => {
    const handler = runInNewContext(`${DASHBOARD_ROUTER_CODE}; handler`) as (e: { request: { uri: string } }) => { uri?: string; statusCode?: number; headers?: Props };
    const uri = (path: string) => handler({ request: { uri: path } }).uri;
    expect(uri('/dashboard/')).toBe('/dashboard/index.html');
    expect(uri('/dashboard/live')).toBe('/dashboard/index.html');
    expect(uri('/dashboard/assets/main-ABC123.js')).toBe('/dashboard/assets/main-ABC123.js');
    expect(uri('/dashboard/config.json')).toBe('/dashboard/config.json');
    expect(uri('/dashboard/assets/../secret')).toBe('/dashboard/index.html');
    expect(handler({ request: { uri: '/dashboard' } })).toMatchObject({ statusCode: 301, headers: { location: { value: '/dashboard/' } } });
    template.hasResourceProperties('AWS::CloudFront::Function', { FunctionConfig: Match.objectLike({ Runtime: 'cloudfront-js-2.0' }) });
  });

  it('/api/*: Authorization reaches the API through a cache policy keyed on it, nothing cached, no CORS', () => {
    const api = byPath('/api/*');
    expect(api).toMatchObject({ AllowedMethods: ['GET', 'HEAD'], ViewerProtocolPolicy: 'https-only' });
    const cache = resources(template, 'AWS::CloudFront::CachePolicy')[(api.CachePolicyId as { Ref: string }).Ref];
    expect((cache?.Properties as Props).CachePolicyConfig).toMatchObject({
      MinTTL: 0,
      DefaultTTL: 0,
      MaxTTL: 1,
      ParametersInCacheKeyAndForwardedToOrigin: expect.objectContaining({ HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['Authorization'] } }),
    });
    const headers = resources(template, 'AWS::CloudFront::ResponseHeadersPolicy')[(api.ResponseHeadersPolicyId as { Ref: string }).Ref];
    expect(JSON.stringify(headers)).not.toContain('CorsConfig');
    // The same API origin as the tracking paths.
    expect(api.TargetOriginId).toBe((distribution.DefaultCacheBehavior as Props).TargetOriginId);
  });
});

describe('dashboard API function', () => {
  const fnId = Object.entries(resources(template, 'AWS::Lambda::Function')).find(([, r]) => String((r.Properties as Props).Description).includes('/api/*'))?.[0] ?? '';
  const roleId = ((resources(template, 'AWS::Lambda::Function')[fnId]?.Properties as Props).Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] ?? '';

  it('can read what the CLIs read and write nothing', () => {
    const actions = roleStatements(template, roleId).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.length).toBeGreaterThan(0);
    for (const action of actions) {
      expect(action).toMatch(/^(dynamodb:(Query|GetItem)|sqs:(ReceiveMessage|ChangeMessageVisibility)|secretsmanager:GetSecretValue|logs:(CreateLogStream|PutLogEvents))$/);
    }
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:Query', 'sqs:ReceiveMessage', 'secretsmanager:GetSecretValue']));
  });
});
