import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface TrackerApiProps {
  /**
   * Route key (`'GET /click/{campaignId}'`, from ROUTES in lambda/contract.ts) -> the function
   * that answers it. Functions serving several routes share one integration.
   */
  readonly routes: Readonly<Record<string, lambda.IFunction>>;
  /** Default-stage throttling, applied to every route. */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Retention of the access log group. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * One access-log line per request, as JSON, kept lean: it is written for every click, and its
 * size is a line in the cost per million clicks (npm run cost). No path (a keyed postback's path
 * holds its secret key), no query string (click ids and amounts), no user agent or address; the
 * route key says which endpoint answered.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  errorMessage: '$context.error.message',
} as const;

/** `'GET /click/{campaignId}'` -> `{ method: GET, path: '/click/{campaignId}' }` */
export function parseRouteKey(routeKey: string): { method: apigw.HttpMethod; path: string } {
  const [method, path, ...rest] = routeKey.split(' ');
  const methods = Object.values(apigw.HttpMethod) as string[];
  if (method === undefined || path === undefined || rest.length > 0 || !methods.includes(method) || !path.startsWith('/')) {
    throw new Error(`TrackerApi: route key must be "<METHOD> /path", got "${routeKey}"`);
  }
  return { method: method as apigw.HttpMethod, path };
}

/**
 * The HTTP API behind CloudFront: the given routes (payload format 2.0),
 * a `$default` stage with throttling and JSON access logs. Nothing else is routed: any other
 * path gets API Gateway's 404 without invoking a function.
 */
export class TrackerApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;
  /** Host name of the execute-api endpoint, used as the CloudFront origin. */
  readonly originDomainName: string;
  private readonly integrations: Map<lambda.IFunction, HttpLambdaIntegration>;

  /**
   * Routes that answer only with a valid token of `authorizer` (the dashboard's API): API
   * Gateway refuses a request without one (401) before any function runs.
   */
  addAuthorizedRoutes(routes: Readonly<Record<string, lambda.IFunction>>, authorizer: apigw.IHttpRouteAuthorizer): apigw.HttpRoute[] {
    const added: apigw.HttpRoute[] = [];
    for (const [routeKey, fn] of Object.entries(routes)) {
      const { method, path } = parseRouteKey(routeKey);
      let integration = this.integrations.get(fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${fn.node.id}Integration`, fn);
        this.integrations.set(fn, integration);
      }
      added.push(...this.api.addRoutes({ path, methods: [method], integration, authorizer }));
    }
    return added;
  }

  constructor(scope: Construct, id: string, props: TrackerApiProps) {
    super(scope, id);
    const { rateLimit, burstLimit } = props.throttle;
    if (!Number.isInteger(rateLimit) || rateLimit < 1 || !Number.isInteger(burstLimit) || burstLimit < 1) {
      throw new Error(`TrackerApi: throttle limits must be positive whole numbers, got ${rateLimit}/${burstLimit}`);
    }

    this.api = new apigw.HttpApi(this, 'HttpApi', {
      description: 'Clickvault click and postback endpoints (reached through CloudFront)',
      createDefaultStage: false,
    });

    if (Object.keys(props.routes).length === 0) throw new Error('TrackerApi: no routes');
    const integrations = new Map<lambda.IFunction, HttpLambdaIntegration>();
    for (const [routeKey, fn] of Object.entries(props.routes)) {
      const { method, path } = parseRouteKey(routeKey);
      let integration = integrations.get(fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${fn.node.id}Integration`, fn);
        integrations.set(fn, integration);
      }
      for (const route of this.api.addRoutes({ path, methods: [method], integration })) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'Public tracking endpoints by design: ad clicks come from anonymous visitors and Digistore24 postbacks ' +
            'and the order-form pixel cannot send credentials. Only requests through our CloudFront distribution ' +
            'are served (the functions check the secret origin-verify header), input is validated, unknown ' +
            'campaigns are refused, and the stage is throttled.',
        });
      }
    }

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      // Half the ingestion price of Standard; access logs are read with Logs Insights, which
      // this class supports (it lacks metric filters and subscriptions, which we do not use).
      logGroupClass: logs.LogGroupClass.INFREQUENT_ACCESS,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit, burstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    this.integrations = integrations;
    const stack = Stack.of(this);
    this.originDomainName = `${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
  }
}
