import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { DASHBOARD_PATH, dashboardCsp } from '../lambda/contract';

/** The path pattern of the dashboard's CloudFront behaviour. */
export const DASHBOARD_PATH_PATTERN = '/dashboard*';

/**
 * The viewer-request function of the dashboard behaviour: `/dashboard` goes to `/dashboard/`;
 * the hashed assets and config.json are served as they are; every other path under /dashboard/
 * is a view of the one page (query routing), so it is answered with index.html — a bucket
 * behind origin access control answers 403 for a key it does not have, and a distribution-wide
 * error page would rewrite the API's answers too.
 */
export const DASHBOARD_ROUTER_CODE = `function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri === '/dashboard') {
    return { statusCode: 301, statusDescription: 'Moved Permanently', headers: { location: { value: '/dashboard/' }, 'cache-control': { value: 'no-store' } } };
  }
  if (/^\\/dashboard\\/assets\\/[A-Za-z0-9._-]+$/.test(uri) || uri === '/dashboard/config.json') return request;
  request.uri = '/dashboard/index.html';
  return request;
}`;

export interface DashboardSiteProps {
  readonly distribution: cloudfront.Distribution;
  /** The built page (lib/dashboard-build.ts): index.html and assets/. */
  readonly assetDir: string;
  /** What the page reads first: the login (user pool domain and client). */
  readonly pageConfig: { auth: 'cognito'; domain: string; clientId: string };
  /** The user pool's login origin, the one other place the page may connect to (token exchange). */
  readonly loginOrigin: string;
  /** Retention of the deploy helper's log group (the stack's setting). */
  readonly logRetention: logs.RetentionDays;
}

/**
 * The dashboard's page at https://TRACKING_DOMAIN/dashboard/: a private S3 bucket (no public
 * access, TLS only, reachable only by this distribution through origin access control), its own
 * behaviour on the tracking distribution with a strict Content Security Policy, hashed assets
 * cached for a year (immutable) and the page itself revalidated on every load.
 */
export class DashboardSite extends Construct {
  readonly bucket: s3.Bucket;
  readonly responseHeadersPolicy: cloudfront.ResponseHeadersPolicy;
  readonly cachePolicy: cloudfront.CachePolicy;
  readonly router: cloudfront.Function;

  constructor(scope: Construct, id: string, props: DashboardSiteProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      // Built from the repository on every deploy; kept on stack delete like the tables (empty it
      // by hand): no auto-delete helper function with rights to empty a bucket.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds only the built dashboard page, written by each deploy and read only by CloudFront through origin access control; ' +
        'every data request is an /api call, which the API stage logs. Server access logs would need a second, ACL-enabled bucket for no reader.',
    });

    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Clickvault dashboard: strict CSP (scripts only from self), HSTS, nosniff, no framing, no referrer',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: dashboardCsp(props.loginOrigin), override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });
    // The object's own Cache-Control decides (a year for hashed assets, revalidate for the page);
    // the view's query string is not part of the key: every view is the same index.html.
    this.cachePolicy = new cloudfront.CachePolicy(this, 'Cache', {
      comment: 'Clickvault dashboard: as the object says (immutable assets, revalidated page); no query, header or cookie in the key',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.days(1),
      maxTtl: Duration.days(365),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    this.router = new cloudfront.Function(this, 'Router', {
      comment: 'Clickvault dashboard: every view path -> index.html; assets and config.json as they are',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(DASHBOARD_ROUTER_CODE),
    });
    props.distribution.addBehavior(DASHBOARD_PATH_PATTERN, origins.S3BucketOrigin.withOriginAccessControl(this.bucket), {
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
      cachePolicy: this.cachePolicy,
      responseHeadersPolicy: this.responseHeadersPolicy,
      compress: true,
      functionAssociations: [{ function: this.router, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
    });

    const deployLogs = new logs.LogGroup(this, 'DeployLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    // Assets first (never pruned: a page still open from the last deploy keeps loading its own),
    // then the page and its config, which name them.
    const assets = new s3deploy.BucketDeployment(this, 'Assets', {
      sources: [s3deploy.Source.asset(props.assetDir, { exclude: ['index.html'] })],
      destinationBucket: this.bucket,
      destinationKeyPrefix: DASHBOARD_PATH.slice(1),
      cacheControl: [s3deploy.CacheControl.fromString('public, max-age=31536000, immutable')],
      prune: false,
      memoryLimit: 256,
      logGroup: deployLogs,
    });
    const page = new s3deploy.BucketDeployment(this, 'Page', {
      sources: [s3deploy.Source.asset(props.assetDir, { exclude: ['assets', 'assets/*'] }), s3deploy.Source.jsonData('config.json', props.pageConfig)],
      destinationBucket: this.bucket,
      destinationKeyPrefix: DASHBOARD_PATH.slice(1),
      cacheControl: [s3deploy.CacheControl.fromString('no-cache')],
      prune: false,
      memoryLimit: 256,
      logGroup: deployLogs,
      distribution: props.distribution,
      distributionPaths: ['/dashboard/', '/dashboard/index.html', '/dashboard/config.json'],
    });
    page.node.addDependency(assets);
    acknowledgeDeploymentHelper(Stack.of(this), this.bucket);
  }
}

/**
 * The CDK's own helper function (BucketDeployment's copier): runs only during a deploy, written
 * and maintained by the CDK, which picks its runtime and policies. Its wildcard findings are
 * acknowledged one by one (cdk-nag reports each action and resource apart).
 */
function acknowledgeDeploymentHelper(stack: Stack, bucket: s3.Bucket): void {
  const literal = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  const assets = `arn:${literal(stack.partition, 'Partition')}:s3:::cdk-hnb659fds-assets-${literal(stack.account, 'AccountId')}-${literal(stack.region, 'Region')}/*`;
  const bucketArn = `<${stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*`;
  const copies = 'CDK deploy-time helper (BucketDeployment): copies the built page from the CDK asset bucket into the dashboard bucket';
  const wildcards = [
    ...['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*', 's3:DeleteObject*'].map((action) => ({ id: `AwsSolutions-IAM5[Action::${action}]`, reason: `${copies}: the CDK's grantRead/grantReadWrite action groups.` })),
    { id: `AwsSolutions-IAM5[Resource::${assets}]`, reason: `${copies}: the objects of the CDK's own asset bucket.` },
    { id: `AwsSolutions-IAM5[Resource::${bucketArn}]`, reason: `${copies}: the objects of the dashboard bucket.` },
    { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'CDK deploy-time helper (BucketDeployment): cloudfront:CreateInvalidation / GetInvalidation have no resource-level form in its policy.' },
    { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'CDK deploy-time helper (BucketDeployment): the CDK attaches the basic execution policy to its own function.' },
    { id: 'AwsSolutions-L1', reason: 'CDK deploy-time helper (BucketDeployment): its runtime is chosen by the CDK version, not by us.' },
  ];
  for (const child of stack.node.children) {
    if (child.node.id.startsWith('Custom::CDKBucketDeployment')) Validations.of(child).acknowledge(...wildcards);
  }
}
