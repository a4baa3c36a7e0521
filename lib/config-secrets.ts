import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import type { SecretRef, TrackerConfig } from '../config/schema';

/** Secrets the config names, per function that reads them at run time. */
export function configSecretRefs(config: TrackerConfig): { postback: SecretRef[]; ipn: SecretRef[] } {
  const passphrase = config.digistore24?.ipn?.passphrase;
  return {
    postback: (config.postbackProtection.sources ?? []).flatMap((source) => source.keys).filter((ref) => !ref.generated),
    ipn: passphrase ? [passphrase] : [],
  };
}

/**
 * IAM resource ARNs for the secrets a function reads: Secrets Manager secrets by name or ARN
 * (a name matches the 6-character suffix Secrets Manager appends) and SSM parameters by name.
 * References that only name an environment variable (the local run) need no grant.
 */
export function secretResourceArns(stack: Stack, refs: readonly SecretRef[]): { secrets: string[]; parameters: string[] } {
  const secrets = new Set<string>();
  const parameters = new Set<string>();
  for (const ref of refs) {
    if (ref.secretsManager !== undefined) {
      const value = ref.secretsManager;
      if (value.startsWith('arn:')) {
        // A complete ARN already ends in -XXXXXX; a partial one (no suffix) needs the wildcard.
        secrets.add(/-[A-Za-z0-9]{6}$/.test(value) ? value : `${value}-??????`);
      } else {
        secrets.add(
          stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${value}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        );
      }
    }
    if (ref.ssmParameter !== undefined) {
      const name = ref.ssmParameter.replace(/^\//, '');
      parameters.add(stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }));
    }
  }
  return { secrets: [...secrets], parameters: [...parameters] };
}

/** Lets `grantee` read exactly the secrets in `refs` (nothing when they name none). */
export function grantSecretRefs(grantee: iam.IGrantable & IConstruct, refs: readonly SecretRef[]): void {
  const stack = Stack.of(grantee);
  const { secrets, parameters } = secretResourceArns(stack, refs);
  if (secrets.length > 0) {
    iam.Grant.addToPrincipal({ grantee, actions: ['secretsmanager:GetSecretValue'], resourceArns: secrets });
  }
  if (parameters.length > 0) {
    iam.Grant.addToPrincipal({ grantee, actions: ['ssm:GetParameter'], resourceArns: parameters });
  }
}


/**
 * Secret references that name only an environment variable work for `npm start` but can never
 * be read in AWS: every IPN or keyed postback would answer 503. Synth refuses them, by path.
 */
export function awsUnreadableSecrets(config: TrackerConfig): string[] {
  const local = (ref: SecretRef) => ref.generated !== true && ref.secretsManager === undefined && ref.ssmParameter === undefined;
  const problems: string[] = [];
  const passphrase = config.digistore24?.ipn?.passphrase;
  if (passphrase && local(passphrase)) problems.push(`digistore24.ipn.passphrase (only env ${passphrase.env ?? ''})`);
  config.postbackProtection.sources?.forEach((source, i) =>
    source.keys.forEach((ref, j) => {
      if (local(ref)) problems.push(`postbackProtection.sources[${i}].keys[${j}] (only env ${ref.env ?? ''})`);
    }),
  );
  // The conversion APIs' tokens: the sender could never send.
  config.trafficChannels.forEach((channel, i) => {
    const api = channel.conversionApi;
    if (!api) return;
    const refs: [string, SecretRef | string][] =
      api.platform === 'google-ads'
        ? [['developerToken', api.developerToken], ['clientId', api.clientId], ['clientSecret', api.clientSecret], ['refreshToken', api.refreshToken]]
        : [['accessToken', api.accessToken]];
    for (const [field, ref] of refs) {
      if (typeof ref !== 'string' && local(ref)) problems.push(`trafficChannels[${i}].conversionApi.${field} (only env ${ref.env ?? ''})`);
    }
  });
  return problems;
}
