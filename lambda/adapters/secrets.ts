/**
 * Reads secrets named by the config (SecretRef): Secrets Manager or SSM Parameter Store
 * (SecureString, decrypted) in AWS, an environment variable in the local run. Values are
 * cached per process for a few minutes, so a rotated secret is picked up without a deploy.
 * The SDK clients load on first use: functions without secrets never pay for them.
 */
import type { SecretRef } from '../../config/schema';
import { ENV } from '../contract';
import { CALL_BUDGETS, boundToDeadline, sdkClientConfig } from './aws-clients';

export type SecretMode = 'aws' | 'local';

export interface SecretReader {
  read(ref: SecretRef): Promise<string | undefined>;
}

export class CachedSecretReader implements SecretReader {
  private readonly cache = new Map<string, { value: Promise<string | undefined>; until: number }>();

  constructor(
    private readonly mode: SecretMode,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
    /** The local run's generated postback key (from its data directory, lambda/local/postback-key.ts). */
    private readonly localGeneratedKey?: string,
  ) {}

  read(ref: SecretRef): Promise<string | undefined> {
    const key = JSON.stringify([ref.secretsManager, ref.ssmParameter, ref.env, ref.generated]);
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return hit.value;
    const value = this.fetch(ref);
    this.cache.set(key, { value, until: this.now() + this.ttlMs });
    // A failed read is not cached: the next request tries again.
    value.catch(() => this.cache.delete(key));
    return value;
  }

  private async fetch(ref: SecretRef): Promise<string | undefined> {
    if (ref.generated) {
      if (this.mode === 'local') return this.localGeneratedKey || undefined;
      // The stack generated it in Secrets Manager and names it (an ARN, never the value) here.
      const arn = this.env[ENV.postbackKeySecretArn];
      if (!arn) throw new Error(`${ENV.postbackKeySecretArn} is not set: the stack names the generated postback key there`);
      return this.fetch({ secretsManager: arn });
    }
    if (this.mode === 'local') {
      if (!ref.env) return undefined;
      const value = this.env[ref.env];
      return value === undefined || value === '' ? undefined : value;
    }
    if (ref.secretsManager) {
      const sm = await import('@aws-sdk/client-secrets-manager');
      const client = boundToDeadline(new sm.SecretsManagerClient(sdkClientConfig(CALL_BUDGETS.secrets)), 'Secrets Manager', CALL_BUDGETS.secrets);
      const out = await client.send(new sm.GetSecretValueCommand({ SecretId: ref.secretsManager }));
      return out.SecretString || undefined;
    }
    if (ref.ssmParameter) {
      const ssm = await import('@aws-sdk/client-ssm');
      const client = boundToDeadline(new ssm.SSMClient(sdkClientConfig(CALL_BUDGETS.secrets)), 'SSM', CALL_BUDGETS.secrets);
      const out = await client.send(new ssm.GetParameterCommand({ Name: ref.ssmParameter, WithDecryption: true }));
      return out.Parameter?.Value || undefined;
    }
    return undefined;
  }
}
