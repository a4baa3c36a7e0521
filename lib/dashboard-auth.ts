import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { DASHBOARD_PATH } from '../lambda/contract';

export interface DashboardAuthProps {
  /** The tracking host the dashboard is served on (custom domain or the distribution's). */
  readonly trackingHost: string;
  /**
   * Prefix of the user pool's login domain (`<prefix>.auth.<region>.amazoncognito.com`), unique
   * in the region. @default - `clickvault-<account id>`
   */
  readonly domainPrefix?: string;
}

/**
 * Who may open the dashboard: a Cognito user pool with no self sign-up (people are invited with
 * `npm run users -- add <email>`), a strong password policy, optional TOTP MFA (no SMS), the
 * user pool's managed login with the authorization code grant and PKCE for one public client (no
 * secret: the page is public code), and the JWT authorizer that guards every /api route.
 */
export class DashboardAuth extends Construct {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  readonly domain: cognito.UserPoolDomain;
  /** `https://<prefix>.auth.<region>.amazoncognito.com`: the page's login and token endpoint. */
  readonly loginOrigin: string;
  readonly authorizer: HttpUserPoolAuthorizer;

  constructor(scope: Construct, id: string, props: DashboardAuthProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `${stack.stackName}-dashboard`,
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      userInvitation: {
        emailSubject: 'Your Clickvault dashboard login',
        emailBody:
          `You were invited to the Clickvault dashboard at https://${props.trackingHost}${DASHBOARD_PATH}. ` +
          'Sign in with the user name {username} and the temporary password {####}; you will choose your own password then.',
      },
      deletionProtection: true,
      // The team's logins outlive a stack replacement.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const prefix = props.domainPrefix ?? `clickvault-${stack.account}`;
    this.domain = this.userPool.addDomain('LoginDomain', {
      cognitoDomain: { domainPrefix: prefix },
      managedLoginVersion: cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });
    const pageUrl = `https://${props.trackingHost}${DASHBOARD_PATH}`;
    this.client = this.userPool.addClient('DashboardClient', {
      userPoolClientName: 'clickvault-dashboard',
      generateSecret: false,
      // Only the managed login (authorization code + PKCE): no password flows on this client.
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true, implicitCodeGrant: false },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
        callbackUrls: [pageUrl],
        logoutUrls: [pageUrl],
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    });
    // No password flow on this client at all (Cognito's default would allow SRP and custom auth):
    // the managed login signs in, the page only ever exchanges a code.
    (this.client.node.defaultChild as cognito.CfnUserPoolClient).explicitAuthFlows = ['ALLOW_REFRESH_TOKEN_AUTH'];
    new cognito.CfnManagedLoginBranding(this, 'LoginBranding', {
      userPoolId: this.userPool.userPoolId,
      clientId: this.client.userPoolClientId,
      useCognitoProvidedValues: true,
    });
    // From the prefix, not the domain resource: the page's CSP (on the distribution) names it, and
    // the user pool names the distribution's host (invitation, callback URL).
    this.loginOrigin = `https://${prefix}.auth.${stack.region}.amazoncognito.com`;
    this.authorizer = new HttpUserPoolAuthorizer('DashboardAuthorizer', this.userPool, {
      userPoolClients: [this.client],
      identitySource: ['$request.header.Authorization'],
    });
    Validations.of(this.userPool).acknowledge(
      {
        id: 'AwsSolutions-COG2',
        reason:
          'MFA is optional TOTP by design (issue 15): every user can and should enrol an authenticator app; requiring it would lock out the ' +
          'operator who has not yet, and SMS is off (SIM swapping, cost).',
      },
      {
        id: 'AwsSolutions-COG3',
        reason:
          'Threat protection (the Plus plan) is billed per monthly active user at several times the Essentials price; a team of a few ' +
          'people behind a 14-character password policy, optional TOTP and no self sign-up does not need adaptive authentication.',
      },
      {
        id: 'AwsSolutions-COG8',
        reason:
          'The Plus feature plan (threat protection, compromised-credential checks) costs several times Essentials per user; Essentials has ' +
          'the managed login, TOTP and the password policy this dashboard uses, and the pool only ever holds the few people invited.',
      },
    );
  }
}
