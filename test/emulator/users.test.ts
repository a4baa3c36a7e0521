/**
 * `npm run users` against a Cognito user pool in moto: add invites (an admin-created user with a
 * verified e-mail), list shows it, remove signs it out and deletes it; a bad address is refused
 * before any call. Without MOTO_ENDPOINT the suite is reported skipped.
 */
import { CognitoIdentityProviderClient, CreateUserPoolCommand, ListUsersCommand } from '@aws-sdk/client-cognito-identity-provider';
import { checkEmail, run, userPoolId } from '../../scripts/users';

const endpoint = process.env.MOTO_ENDPOINT;
if (!endpoint) {
  // eslint-disable-next-line no-console
  console.warn('users emulator suite NOT RUN: MOTO_ENDPOINT is not set (.ci/run starts moto_server and sets it).');
}
const suite = endpoint ? describe : describe.skip;

suite('npm run users (Cognito in moto)', () => {
  const client = new CognitoIdentityProviderClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  let pool = '';

  beforeAll(async () => {
    const out = await client.send(new CreateUserPoolCommand({ PoolName: `dashboard-${Date.now()}`, AdminCreateUserConfig: { AllowAdminCreateUserOnly: true } }));
    pool = out.UserPool?.Id ?? '';
  });
  afterAll(() => client.destroy());

  it('adds, lists and removes a login', async () => {
    expect(await run('add', 'Ann@Example.com', pool, client)).toMatch(/^Invited ann@example\.com/);
    expect(await run('add', 'ann@example.com', pool, client)).toMatch(/may log in already/);
    const users = await client.send(new ListUsersCommand({ UserPoolId: pool }));
    expect(users.Users?.map((u) => u.Attributes?.find((a) => a.Name === 'email')?.Value)).toEqual(['ann@example.com']);
    expect(users.Users?.[0]?.Attributes).toEqual(expect.arrayContaining([{ Name: 'email_verified', Value: 'true' }]));
    expect(await run('list', undefined, pool, client)).toMatch(/ann@example\.com {2}FORCE_CHANGE_PASSWORD {2}enabled/);
    expect(await run('remove', 'ann@example.com', pool, client)).toMatch(/^Removed ann@example\.com/);
    expect(await run('remove', 'ann@example.com', pool, client)).toMatch(/has no login/);
    expect(await run('list', undefined, pool, client)).toMatch(/No logins yet/);
  });

  it('refuses what is not an e-mail address, and unknown commands, before any call', async () => {
    expect(() => checkEmail('not an address')).toThrow(/is not an e-mail address/);
    expect(() => checkEmail('a@b.c\u001b[31m')).toThrow(/\\u001b|is not an e-mail address/);
    await expect(run('add', '', pool, client)).rejects.toThrow(/give the e-mail address/);
    await expect(run('grant', 'a@example.com', pool, client)).rejects.toThrow(/unknown command "grant"/);
  });

  it('finds the user pool from DASHBOARD_USER_POOL_ID or the stack output', async () => {
    expect(await userPoolId('S', { DASHBOARD_USER_POOL_ID: 'eu-west-1_abc' }, async () => ({}))).toBe('eu-west-1_abc');
    expect(await userPoolId('S', {}, async () => ({ DashboardUserPoolId: 'eu-west-1_def' }))).toBe('eu-west-1_def');
    await expect(userPoolId('S', {}, async () => ({}))).rejects.toThrow(/no DashboardUserPoolId output/);
  });
});
