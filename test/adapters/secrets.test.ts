import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { CachedSecretReader } from '../../lambda/adapters/secrets';

const sm = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);

beforeEach(() => {
  sm.reset();
  ssm.reset();
});

describe('CachedSecretReader', () => {
  it('reads Secrets Manager and SSM SecureStrings (decrypted) in AWS, and caches for its TTL', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'clickvault/ipn' }).resolves({ SecretString: 'pp-1' });
    ssm.on(GetParameterCommand, { Name: '/clickvault/key', WithDecryption: true }).resolves({ Parameter: { Value: 'k-1' } });
    let now = 0;
    const reader = new CachedSecretReader('aws', {}, 1000, () => now);
    expect(await reader.read({ secretsManager: 'clickvault/ipn' })).toBe('pp-1');
    expect(await reader.read({ ssmParameter: '/clickvault/key' })).toBe('k-1');
    expect(await reader.read({ secretsManager: 'clickvault/ipn' })).toBe('pp-1');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now = 1001;
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'pp-2' });
    expect(await reader.read({ secretsManager: 'clickvault/ipn' })).toBe('pp-2');
  });

  it('does not cache a failed read', async () => {
    sm.on(GetSecretValueCommand).rejectsOnce(new Error('throttled')).resolves({ SecretString: 'ok' });
    const reader = new CachedSecretReader('aws', {});
    await expect(reader.read({ secretsManager: 's' })).rejects.toThrow('throttled');
    expect(await reader.read({ secretsManager: 's' })).toBe('ok');
  });

  it('reads the generated postback key: in AWS from the secret the stack names (by ARN), locally from the data directory', async () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:PostbackKeySecret-AbCdEf';
    sm.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: 'generated-in-aws' });
    expect(await new CachedSecretReader('aws', { POSTBACK_KEY_SECRET_ARN: arn }).read({ generated: true })).toBe('generated-in-aws');
    // Not named: a deployment bug, said so (answered 503 keys_unavailable, never "any key goes").
    await expect(new CachedSecretReader('aws', {}).read({ generated: true })).rejects.toThrow(/POSTBACK_KEY_SECRET_ARN is not set/);
    sm.reset();
    const local = new CachedSecretReader('local', {}, undefined, undefined, 'generated-locally');
    expect(await local.read({ generated: true })).toBe('generated-locally');
    expect(await new CachedSecretReader('local', {}).read({ generated: true })).toBeUndefined();
    // A generated key and a reference naming nothing else are different cache entries.
    expect(await local.read({ env: 'NOPE' })).toBeUndefined();
    expect(sm.calls()).toHaveLength(0);
  });

  it('reads only the environment locally, and never calls AWS', async () => {
    const reader = new CachedSecretReader('local', { DS24_IPN_PASSPHRASE: 'local-pp', EMPTY: '' });
    expect(await reader.read({ secretsManager: 'x', env: 'DS24_IPN_PASSPHRASE' })).toBe('local-pp');
    expect(await reader.read({ env: 'EMPTY' })).toBeUndefined();
    expect(await reader.read({ secretsManager: 'x' })).toBeUndefined();
    expect(sm.calls()).toHaveLength(0);
  });
});
