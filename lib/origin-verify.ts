import { Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ORIGIN_VERIFY_HEADER } from '../lambda/contract';

/**
 * The shared secret CloudFront sends to the API in the `x-clickvault-origin-verify` header and
 * the functions compare (constant time) before doing anything, so the raw execute-api URL cannot
 * be used to bypass the distribution. Secrets Manager generates the value at deploy time: it
 * never appears in the code, the synthesized template or cdk.out.
 */
export class OriginVerifySecret extends Construct {
  readonly secret: secretsmanager.Secret;
  /** Header name (lower case, as the functions read it). */
  readonly headerName = ORIGIN_VERIFY_HEADER;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: `Value CloudFront sends in ${ORIGIN_VERIFY_HEADER}; the Clickvault functions reject requests without it`,
      generateSecretString: {
        passwordLength: 48,
        excludePunctuation: true, // header-safe characters only
        includeSpace: false,
      },
    });
    Validations.of(this.secret).acknowledge(
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'Not a credential to a system: a shared token that only proves a request passed through our CloudFront ' +
          'distribution (CloudFront->API Gateway over TLS); the endpoints behind it are public by design. ' +
          'CloudFormation resolves it at deploy time into the distribution and the functions, so a Secrets Manager ' +
          'rotation would not reach them, and a rotation by redeploy makes CloudFront edges and functions disagree ' +
          'for minutes (403s, lost clicks) until the handlers accept the previous value too. Rotation is therefore ' +
          'a planned manual operation, see docs/deploy.md.',
      },
    );
  }

  /**
   * The value for CloudFront's origin custom header and the functions' ORIGIN_VERIFY_SECRET.
   *
   * `unsafeUnwrap()` does not put the secret into the template: it renders a CloudFormation
   * dynamic reference (`{{resolve:secretsmanager:<arn>:SecretString:::}}`) that CloudFormation
   * resolves at deploy time. The plain value is then visible only to principals allowed to read
   * the distribution or the function configuration.
   */
  get headerValue(): string {
    return this.secret.secretValue.unsafeUnwrap();
  }
}
