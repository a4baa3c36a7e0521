import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV } from '../lambda/contract';

/**
 * The postback key the config asks the tracker to generate (`keys: [{ generated: true }]`):
 * Secrets Manager makes the value at deploy time (GenerateSecretString), so it is never in the
 * code, the template, cdk.out, the outputs or the logs. The postback function is told the
 * secret's ARN (not its value) and may read exactly this secret; `npm run urls` reads it with
 * the operator's credentials and prints the complete URLs.
 */
export class GeneratedPostbackKey extends Construct {
  readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: 'Clickvault postback key (generated): Digistore24 S2S postbacks must carry it as key=...; print the URLs with npm run urls',
      generateSecretString: {
        // 40 letters and digits (~238 bits): URL-safe, no escaping in any postback URL.
        passwordLength: 40,
        excludePunctuation: true,
        includeSpace: false,
      },
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The postback key is pasted into every Digistore24 S2S postback URL by hand: an automatic rotation would ' +
        'silently invalidate all of them and refuse every sale until the URLs are edited. It is rotated as a planned ' +
        'operation with the multi-key procedure in README "Postback protection" (a second key beside it, update the ' +
        'URLs, watch the logs for the old key index, remove it), which never refuses a postback.',
    });
  }

  /** Lets `fn` read the key (GetSecretValue on this secret only) and tells it the ARN. */
  grantRead(fn: lambda.Function): void {
    iam.Grant.addToPrincipal({ grantee: fn, actions: ['secretsmanager:GetSecretValue'], resourceArns: [this.secret.secretArn] });
    fn.addEnvironment(ENV.postbackKeySecretArn, this.secret.secretArn);
  }
}
