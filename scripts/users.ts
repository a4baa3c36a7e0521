/**
 * `npm run users -- add|remove|list [<email>] [--stack NAME]`: who may log in to the dashboard.
 * `add` invites a person (Cognito e-mails a temporary password and the dashboard's address;
 * they choose their own password at first login), `remove` deletes the login, `list` shows every
 * login with its state and whether it has an authenticator app (TOTP). The user pool comes from
 * the stack's output DashboardUserPoolId (or DASHBOARD_USER_POOL_ID); standard AWS credentials.
 */
import { parseArgs } from 'node:util';
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { terminalSafe } from '../lambda/core/terminal-safe';
import { DEFAULT_STACK, stackOutputs } from './tracker-context';

const USAGE = `Usage: npm run users -- add <email> [--stack NAME]      invite (Cognito e-mails a temporary password)
       npm run users -- remove <email> [--stack NAME]   delete the login
       npm run users -- list [--stack NAME]             every login, its state and MFA`;

/** An operator waits for this: a few seconds per call, a small attempt budget. */
const CLIENT_OPTIONS = { maxAttempts: 3, requestHandler: { connectionTimeout: 3000, requestTimeout: 5000 } } as const;
const EMAIL = /^[^\s@<>()[\]\\,;:"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;

export function checkEmail(value: string | undefined): string {
  if (value === undefined || value === '') throw new Error('give the e-mail address of the person');
  const email = value.trim().toLowerCase();
  if (!EMAIL.test(email)) throw new Error(`"${terminalSafe(value.slice(0, 80))}" is not an e-mail address`);
  return email;
}

export async function userPoolId(stack: string, env: NodeJS.ProcessEnv = process.env, outputsOf = stackOutputs): Promise<string> {
  const fromEnv = env.DASHBOARD_USER_POOL_ID;
  if (fromEnv) return fromEnv;
  const id = (await outputsOf(stack)).DashboardUserPoolId;
  if (!id) throw new Error(`stack ${stack} has no DashboardUserPoolId output: deploy this version first (npx cdk deploy), or set DASHBOARD_USER_POOL_ID`);
  return id;
}

export async function run(command: string, email: string | undefined, poolId: string, client: CognitoIdentityProviderClient): Promise<string> {
  const cognito = await import('@aws-sdk/client-cognito-identity-provider');
  switch (command) {
    case 'add': {
      const address = checkEmail(email);
      try {
        await client.send(
          new cognito.AdminCreateUserCommand({
            UserPoolId: poolId,
            Username: address,
            UserAttributes: [
              { Name: 'email', Value: address },
              { Name: 'email_verified', Value: 'true' },
            ],
            DesiredDeliveryMediums: ['EMAIL'],
          }),
        );
      } catch (err) {
        if ((err as Error).name === 'UsernameExistsException') return `${address} may log in already (npm run users -- list shows the state).`;
        throw err;
      }
      return `Invited ${address}: Cognito e-mails a temporary password (valid 3 days) and the dashboard's address.`;
    }
    case 'remove': {
      const address = checkEmail(email);
      try {
        await client.send(new cognito.AdminUserGlobalSignOutCommand({ UserPoolId: poolId, Username: address }));
        await client.send(new cognito.AdminDeleteUserCommand({ UserPoolId: poolId, Username: address }));
      } catch (err) {
        if ((err as Error).name === 'UserNotFoundException') return `${address} has no login.`;
        throw err;
      }
      return `Removed ${address}: signed out everywhere (tokens already issued expire within the hour) and deleted.`;
    }
    case 'list': {
      const lines: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new cognito.ListUsersCommand({ UserPoolId: poolId, PaginationToken: token }));
        for (const user of page.Users ?? []) {
          const mail = user.Attributes?.find((a) => a.Name === 'email')?.Value ?? user.Username ?? '?';
          lines.push([mail, user.UserStatus ?? '?', user.Enabled === false ? 'disabled' : 'enabled', user.UserCreateDate?.toISOString().slice(0, 10) ?? ''].map(terminalSafe).join('  '));
        }
        token = page.PaginationToken;
      } while (token);
      return lines.length ? `email  state  enabled  created\n${lines.join('\n')}` : 'No logins yet: npm run users -- add <email>';
    }
    default:
      throw new Error(`unknown command "${terminalSafe(command.slice(0, 40))}"\n${USAGE}`);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { stack: { type: 'string' }, help: { type: 'boolean' } } });
  const [command, email] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    if (!values.help) process.exitCode = 2;
    return;
  }
  if (command !== 'list') checkEmail(email);
  const poolId = await userPoolId(values.stack ?? DEFAULT_STACK);
  const cognito = await import('@aws-sdk/client-cognito-identity-provider');
  const client = new cognito.CognitoIdentityProviderClient(CLIENT_OPTIONS);
  try {
    process.stdout.write(`${await run(command, email, poolId, client)}\n`);
  } finally {
    client.destroy();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`users: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
