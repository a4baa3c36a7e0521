import { Annotations, type App, Token, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '../config/load';
import { protectionWarnings, type TrackerConfig } from '../config/schema';
import { CertificateStack } from './certificate-stack';
import { awsUnreadableSecrets } from './config-secrets';
import { ClickvaultStack } from './clickvault-stack';
import { CONTEXT_KEYS, parseSettings, type ContextKey, type TrackerSettings } from './settings';
import { CERTIFICATE_REGION } from './tracking-domain';

export const STACK_NAME = 'Clickvault';
export const CERTIFICATE_STACK_NAME = 'ClickvaultCertificate';

export interface BuildOptions {
  /** Target account and region (bin/app.ts passes CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION). */
  readonly env?: { readonly account?: string; readonly region?: string };
  /** @default loadConfig() - config/tracker.config.ts, or the file TRACKER_CONFIG names */
  readonly config?: TrackerConfig;
  /** Run cdk-nag's AwsSolutions checks on every stack. @default true */
  readonly nag?: boolean;
}

export interface ClickvaultStacks {
  readonly settings: TrackerSettings;
  readonly tracker: ClickvaultStack;
  /** Only when the tracker stack is outside us-east-1 and needs a certificate created. */
  readonly certificate?: CertificateStack;
}

const known = (value: string | undefined): string | undefined =>
  value === undefined || value === '' || Token.isUnresolved(value) ? undefined : value;

/**
 * Reads the context, loads and validates the tracker config, and builds the stacks:
 * - no domain: one stack on the CloudFront default domain;
 * - domain, stack in us-east-1 (or region unknown) or certificateArn given: one stack;
 * - domain, stack in another region: a us-east-1 certificate stack plus the tracker stack,
 *   joined by cross-region references.
 */
export function buildClickvault(app: App, options: BuildOptions = {}): ClickvaultStacks {
  const settings = parseSettings((key: ContextKey) => app.node.tryGetContext(key));
  const config = options.config ?? loadConfig();
  const unreadable = awsUnreadableSecrets(config);
  if (unreadable.length > 0) {
    throw new Error(
      `These secrets name only an environment variable, which works for npm start but cannot be read in AWS: ${unreadable.join(', ')}. ` +
        "Add secretsManager: '<secret name or ARN>' or ssmParameter: '/<SecureString name>' to each (keep env for the local run).",
    );
  }
  const account = known(options.env?.account);
  const region = known(options.env?.region);
  const env = account !== undefined || region !== undefined ? { account, region } : undefined;

  let certificate: CertificateStack | undefined;
  const needsCertificateStack =
    settings.domain !== undefined &&
    settings.domain.certificateArn === undefined &&
    region !== undefined &&
    region !== CERTIFICATE_REGION;
  if (needsCertificateStack && settings.domain) {
    if (account === undefined) {
      throw new Error(
        `The tracker stack is in ${region} and needs its certificate from a ${CERTIFICATE_REGION} stack, which ` +
          'needs a known AWS account: run with credentials, or pass -c certificateArn=<us-east-1 certificate ARN>.',
      );
    }
    certificate = new CertificateStack(app, CERTIFICATE_STACK_NAME, {
      env: { account, region: CERTIFICATE_REGION },
      domain: settings.domain,
      description: `Clickvault: CloudFront certificate for ${settings.domain.domainName} (us-east-1)`,
    });
  }

  const tracker = new ClickvaultStack(app, STACK_NAME, {
    env,
    settings,
    config,
    certificate: certificate?.certificate,
    crossRegionReferences: certificate !== undefined,
  });

  // An unprotected (acknowledged) or switch-over config deploys, but synth says so every time.
  for (const warning of protectionWarnings(config)) {
    Annotations.of(tracker).addWarningV2('clickvault:postback-protection', warning.replace(/^WARNING: /, '')); // the CDK prints WARNING itself
  }

  // cdk-nag 3 runs as a synthesis validation plugin: any unacknowledged finding fails synth.
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { settings, tracker, certificate };
}

/** Context keys the app understands (for docs and error messages). */
export { CONTEXT_KEYS };
