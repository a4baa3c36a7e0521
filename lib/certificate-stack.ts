import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type { Construct } from 'constructs';
import type { DomainSettings } from './settings';
import { CERTIFICATE_REGION, dnsValidatedCertificate, hostedZone } from './tracking-domain';

export interface CertificateStackProps extends StackProps {
  readonly domain: DomainSettings;
}

/**
 * A small us-east-1 stack holding only the CloudFront certificate, for a tracker stack deployed
 * in another region. The tracker stack reads the certificate ARN through CDK's cross-region
 * references (`crossRegionReferences: true` on both stacks: an SSM parameter written here and
 * read there by a CDK-provided custom resource).
 */
export class CertificateStack extends Stack {
  readonly certificate: acm.Certificate;

  constructor(scope: Construct, id: string, props: CertificateStackProps) {
    if (props.env?.region !== CERTIFICATE_REGION) {
      throw new Error(`CertificateStack must be in ${CERTIFICATE_REGION}, got ${props.env?.region ?? 'no region'}`);
    }
    super(scope, id, { crossRegionReferences: true, ...props });
    const zone = hostedZone(this, 'Zone', props.domain);
    this.certificate = dnsValidatedCertificate(this, 'Certificate', props.domain.domainName, zone);
  }
}
