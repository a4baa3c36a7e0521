import { CfnRule, Fn, Stack, Token } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import type { DomainSettings } from './settings';

/** CloudFront only takes certificates from this region. */
export const CERTIFICATE_REGION = 'us-east-1';

/**
 * The hosted zone for `domain`: used as given when `hostedZoneId` is known (no lookup, synth
 * stays offline), otherwise looked up by name (needs credentials and an account/region).
 */
export function hostedZone(scope: Construct, id: string, domain: DomainSettings): route53.IHostedZone {
  if (domain.hostedZoneId !== undefined) {
    return route53.HostedZone.fromHostedZoneAttributes(scope, id, {
      hostedZoneId: domain.hostedZoneId,
      zoneName: domain.hostedZoneName,
    });
  }
  const stack = Stack.of(scope);
  if (Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region)) {
    throw new Error(
      `Looking up the hosted zone ${domain.hostedZoneName} needs an AWS account and region: run with AWS credentials ` +
        `(and a region), or pass -c hostedZoneId=<zone id> to use the zone without a lookup.`,
    );
  }
  return route53.HostedZone.fromLookup(scope, id, { domainName: domain.hostedZoneName });
}

/** An ACM certificate for `domainName`, validated by DNS records in `zone`. */
export function dnsValidatedCertificate(
  scope: Construct,
  id: string,
  domainName: string,
  zone: route53.IHostedZone,
): acm.Certificate {
  return new acm.Certificate(scope, id, {
    domainName,
    validation: acm.CertificateValidation.fromDns(zone),
  });
}

export interface TrackingDomainProps {
  readonly domain: DomainSettings;
  /**
   * Certificate for the domain, in us-east-1 (from certificateArn, or from the certificate stack
   * when this stack is in another region). @default - created here, which requires this stack to
   * be deployed in us-east-1
   */
  readonly certificate?: acm.ICertificate;
}

/**
 * The custom tracking domain: the Route53 zone, the us-east-1 certificate CloudFront needs and,
 * once the distribution exists, the A and AAAA alias records pointing at it.
 */
export class TrackingDomain extends Construct {
  readonly domainName: string;
  readonly zone: route53.IHostedZone;
  readonly certificate: acm.ICertificate;

  constructor(scope: Construct, id: string, props: TrackingDomainProps) {
    super(scope, id);
    const { domain } = props;
    this.domainName = domain.domainName;
    this.zone = hostedZone(this, 'Zone', domain);

    if (props.certificate) {
      this.certificate = props.certificate;
    } else if (domain.certificateArn !== undefined) {
      this.certificate = acm.Certificate.fromCertificateArn(this, 'Certificate', domain.certificateArn);
    } else {
      const region = Stack.of(this).region;
      if (!Token.isUnresolved(region) && region !== CERTIFICATE_REGION) {
        throw new Error(
          `TrackingDomain: this stack is in ${region} but CloudFront needs the certificate in ${CERTIFICATE_REGION}; ` +
            'pass a certificate (the app creates one in a us-east-1 certificate stack) or -c certificateArn=...',
        );
      }
      if (Token.isUnresolved(region)) {
        // Region-agnostic synth (no region configured): the certificate is created in whatever
        // region the stack is deployed to, so refuse any other region before anything is created.
        new CfnRule(this, 'CertificateRegion', {
          assertions: [
            {
              assert: Fn.conditionEquals(Stack.of(this).region, CERTIFICATE_REGION),
              assertDescription:
                `With a custom domain and no certificateArn this stack creates the CloudFront certificate itself and ` +
                `must be deployed to ${CERTIFICATE_REGION}. Deploy with a region set to get a separate certificate stack.`,
            },
          ],
        });
      }
      this.certificate = dnsValidatedCertificate(this, 'Certificate', domain.domainName, this.zone);
    }
  }

  /** A and AAAA alias records from the domain to the distribution. */
  addAliasRecords(distribution: cloudfront.IDistribution): void {
    const target = route53.RecordTarget.fromAlias(new targets.CloudFrontTarget(distribution));
    const recordName = this.domainName;
    new route53.ARecord(this, 'AliasA', { zone: this.zone, recordName, target });
    new route53.AaaaRecord(this, 'AliasAAAA', { zone: this.zone, recordName, target });
  }
}
