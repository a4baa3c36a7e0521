import { Duration, Validations } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import { Construct } from 'constructs';

/** Headers CloudFront passes to the API: what the handlers read, and nothing else. */
export const FORWARDED_HEADERS = ['User-Agent', 'Referer', 'Content-Type', 'CloudFront-Viewer-Country', 'CloudFront-Viewer-Address'] as const;

/**
 * The click path (`/click/*`) reads two more: `Origin` (the JSON click answers a browser only on
 * a lander's origin or a corsOrigins entry) and `Sec-Purpose` (a browser prefetch is answered
 * 503 and records nothing).
 */
export const CLICK_HEADERS = [...FORWARDED_HEADERS, 'Origin', 'Sec-Purpose'] as const;

/**
 * The lander click (`/go`) reads the user agent (bots), `Sec-Purpose` (prefetches) and the
 * viewer's address (the source of a lander click kept in the dead-letter queue); not the
 * referer, country or content type.
 */
export const LANDER_CLICK_HEADERS = ['User-Agent', 'Sec-Purpose', 'CloudFront-Viewer-Address'] as const;

/** The path of the direct-tracking script: the only cached answer. */
export const SCRIPT_PATH = '/t.js';

/** How long CloudFront keeps /t.js when the function does not say (it says max-age=300). */
export const SCRIPT_CACHE_TTL = { default: Duration.minutes(5), min: Duration.seconds(0), max: Duration.hours(1) } as const;

export interface TrackerDistributionProps {
  /** Host name of the API (execute-api) that CloudFront forwards to. */
  readonly originDomainName: string;
  /** Origin custom header CloudFront adds to every request: name and (dynamic-reference) value. */
  readonly originVerifyHeader: { readonly name: string; readonly value: string };
  /**
   * Custom domain and its us-east-1 certificate.
   * @default - the distribution's *.cloudfront.net domain
   */
  readonly domain?: { readonly domainName: string; readonly certificate: acm.ICertificate };
  /** ARN of a global WAFv2 web ACL. @default - none */
  readonly webAclArn?: string;
}

/**
 * CloudFront in front of the API: the tracking domain's TLS endpoint.
 *
 * - Nothing is cached (CachingDisabled): every click and postback reaches the functions; the
 *   one exception is the direct-tracking script `/t.js`, the same text for everyone, cached for
 *   minutes on its own behaviour (cache key: the path alone; no query, header or cookie reaches
 *   its function).
 * - Behaviours per path, each forwarding exactly what its function reads: `/click/*` adds
 *   Origin and Sec-Purpose, `/go` only User-Agent, Sec-Purpose and the viewer address; the
 *   default (postbacks, IPN) as before.
 * - Origin request policy (our own, so what reaches the functions is explicit): every query
 *   string; the headers the handlers read (User-Agent, Referer, Content-Type) plus the CloudFront
 *   headers CloudFront-Viewer-Country and CloudFront-Viewer-Address, which the click handler
 *   records; never the viewer's Host (API Gateway answers 403 to a foreign Host) and no cookies.
 * - Viewers: HTTPS only (HTTP redirects), TLS 1.2+ on the custom domain, HTTP/2 and HTTP/3,
 *   all methods (Digistore24 may POST postbacks).
 * - Origin: HTTPS only with TLS 1.2, plus the secret origin-verify header.
 * - Answers: a response headers policy on every behaviour (HSTS, nosniff, no framing, no-store).
 */
export class TrackerDistribution extends Construct {
  readonly distribution: cloudfront.Distribution;
  /** The API origin (with the origin-verify header), shared by every behaviour that reaches the API. */
  readonly apiOrigin: origins.HttpOrigin;
  private readonly originRequestPolicy: cloudfront.OriginRequestPolicy;
  /** Security headers on every answer; every behaviour uses it (a new behaviour must too: test/stack). */
  readonly responseHeadersPolicy: cloudfront.ResponseHeadersPolicy;

  constructor(scope: Construct, id: string, props: TrackerDistributionProps) {
    super(scope, id);

    const origin = (this.apiOrigin = new origins.HttpOrigin(props.originDomainName, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
      customHeaders: { [props.originVerifyHeader.name]: props.originVerifyHeader.value },
      readTimeout: Duration.seconds(30),
    }));

    // On every answer: HSTS for two years (the tracking host is HTTPS only), nosniff (every body
    // is plain text, a GIF or a redirect: never to be sniffed into HTML or script), no framing,
    // and no-store unless the function chose a cache policy itself (every tracking answer is
    // no-store; this covers API Gateway's own 404/429 answers too). The referrer policy is the
    // function's where it sets one (the click redirect's own), strict-origin-when-cross-origin
    // elsewhere. Static assets that later need caching get their own behaviour and policy.
    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'ResponseHeaders', {
      comment: 'Clickvault: HSTS 2 years, nosniff, no framing, no-store unless the origin says otherwise',
      securityHeadersBehavior: {
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: false },
      },
      customHeadersBehavior: {
        customHeaders: [{ header: 'Cache-Control', value: 'no-store', override: false }],
      },
    });

    const originRequestPolicy = (this.originRequestPolicy = new cloudfront.OriginRequestPolicy(this, 'OriginRequests', {
      comment: 'Clickvault: all query strings, the headers the handlers read, viewer country and address; no Host, no cookies',
      queryStringBehavior: cloudfront.OriginRequestQueryStringBehavior.all(),
      cookieBehavior: cloudfront.OriginRequestCookieBehavior.none(),
      headerBehavior: cloudfront.OriginRequestHeaderBehavior.allowList(...FORWARDED_HEADERS),
    }));

    const clickRequests = new cloudfront.OriginRequestPolicy(this, 'ClickRequests', {
      comment: 'Clickvault /click/*: all query strings, the click headers plus Origin (CORS of the JSON click) and Sec-Purpose (prefetch)',
      queryStringBehavior: cloudfront.OriginRequestQueryStringBehavior.all(),
      cookieBehavior: cloudfront.OriginRequestCookieBehavior.none(),
      headerBehavior: cloudfront.OriginRequestHeaderBehavior.allowList(...CLICK_HEADERS),
    });
    const landerClickRequests = new cloudfront.OriginRequestPolicy(this, 'LanderClickRequests', {
      comment: 'Clickvault /go: all query strings, User-Agent, Sec-Purpose and the viewer address; no cookies',
      queryStringBehavior: cloudfront.OriginRequestQueryStringBehavior.all(),
      cookieBehavior: cloudfront.OriginRequestCookieBehavior.none(),
      headerBehavior: cloudfront.OriginRequestHeaderBehavior.allowList(...LANDER_CLICK_HEADERS),
    });
    // /t.js: cached by path alone. Nothing of the viewer is in the key or reaches the function.
    const scriptCache = new cloudfront.CachePolicy(this, 'ScriptCache', {
      comment: 'Clickvault /t.js: the direct-tracking script, the same for everyone; cached for minutes',
      defaultTtl: SCRIPT_CACHE_TTL.default,
      minTtl: SCRIPT_CACHE_TTL.min,
      maxTtl: SCRIPT_CACHE_TTL.max,
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    const uncached = {
      origin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      responseHeadersPolicy: this.responseHeadersPolicy,
      compress: true,
    };

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Clickvault tracking domain',
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy,
        responseHeadersPolicy: this.responseHeadersPolicy,
        compress: true,
      },
      additionalBehaviors: {
        '/click/*': { ...uncached, originRequestPolicy: clickRequests },
        '/go': { ...uncached, originRequestPolicy: landerClickRequests },
        [SCRIPT_PATH]: { ...uncached, cachePolicy: scriptCache },
      },
      domainNames: props.domain ? [props.domain.domainName] : undefined,
      certificate: props.domain?.certificate,
      // Only meaningful with our own certificate; the *.cloudfront.net one has a fixed policy.
      ...(props.domain
        ? { minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021, sslSupportMethod: cloudfront.SSLMethod.SNI }
        : {}),
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
      // Ad traffic comes from anywhere; the price class only changes which edges serve it.
      priceClass: cloudfront.PriceClass.PRICE_CLASS_ALL,
      webAclId: props.webAclArn,
    });

    const suppressions = [
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'No geo restriction by design: ad clicks and Digistore24 postbacks come from every country, and the click ' +
          'handler records the viewer country instead of blocking it.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'Every request CloudFront forwards is logged by the API stage (JSON access log with retention) and by the ' +
          'functions; nothing is cached but the direct-tracking script /t.js (the same text for everyone, no visitor ' +
          'data), so CloudFront serves nothing else the origin does not see. Standard logging would ' +
          'need an ACL-enabled S3 bucket and keep visitor IP addresses in a second place, which the config ' +
          '(defaults.ipStorage) deliberately limits.',
      },
    ];
    if (props.webAclArn === undefined) {
      suppressions.push({
        id: 'AwsSolutions-CFR2',
        reason:
          'WAF is opt-in (-c webAclArn=<global web ACL ARN>): a web ACL costs more per month than the rest of a small ' +
          'tracker. Without it, abuse is bounded by the API stage throttling, the functions only accept known ' +
          'campaigns and well-formed postbacks, and requests that bypass CloudFront are refused (origin-verify header).',
      });
    }
    if (props.domain === undefined) {
      suppressions.push({
        id: 'AwsSolutions-CFR4',
        reason:
          'Only without a custom domain: the default *.cloudfront.net certificate has a CloudFront-fixed security ' +
          'policy (TLSv1) that cannot be changed. With -c domainName=... the distribution uses TLSv1.2_2021.',
      });
    }
    Validations.of(this.distribution).acknowledge(...suppressions);
  }

  /**
   * A behaviour for an API path that needs the viewer's `Authorization` header (the dashboard's
   * `/api/*`). CloudFront forwards Authorization only through a cache policy that keys on it
   * (an origin request policy may not name it), so this one does, and caches nothing: TTLs of
   * 0 (a maximum of 1 s is what lets a policy name a header at all) under answers that say
   * `no-store`. Same origin, origin-verify header and security headers as the tracking paths;
   * no CORS headers (the page calls its own origin).
   */
  addAuthorizedApiBehavior(pathPattern: string): cloudfront.CachePolicy {
    const cachePolicy = new cloudfront.CachePolicy(this, 'AuthorizedApiCache', {
      comment: 'Clickvault /api: keyed on Authorization so CloudFront forwards it; nothing cached (TTL 0, answers are no-store)',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(0),
      maxTtl: Duration.seconds(1),
      headerBehavior: cloudfront.CacheHeaderBehavior.allowList('Authorization'),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.all(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
    });
    this.distribution.addBehavior(pathPattern, this.apiOrigin, {
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
      cachePolicy,
      originRequestPolicy: this.originRequestPolicy,
      responseHeadersPolicy: this.responseHeadersPolicy,
      compress: true,
    });
    return cachePolicy;
  }
}
