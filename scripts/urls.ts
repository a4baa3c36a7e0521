/**
 * `npm run urls -- [--local] [--json] [--stack NAME]`: the exact URLs to paste into Digistore24.
 *
 * - `--local`: the local tracker (http://127.0.0.1:$PORT) with the key from its data directory
 *   (TRACKER_DATA_DIR; made now if `npm start` has not run yet) or the environment variable the
 *   config names.
 * - otherwise the deployed stack: its outputs (TrackingHost, PostbackKeySecret or
 *   PostbackKeyParameter) and the key read from Secrets Manager / SSM with your AWS credentials.
 *
 * Only the two S2S postback URLs carry the key; the pixel and the IPN URL never do. `--json`
 * prints exactly {"affiliateS2S", "vendorS2S", "pixel", "ipn"}.
 */
import './cli-setup';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load';
import { protectionWarnings } from '../config/schema';
import { boundToDeadline, sdkClientConfig, type CallBudget } from '../lambda/adapters/aws-clients';
import { digistore24Urls, type Digistore24Urls, type UrlKey } from '../lambda/core/urls';
import { localUrlKey } from '../lambda/local/server';
import { dataDir } from './local-store';
import { DEFAULT_STACK, stackOutputs } from './tracker-context';

const USAGE = `Usage: npm run urls -- [--local] [--json] [--stack NAME]
  --local       the local tracker (npm start): http://127.0.0.1:$PORT and the key in $TRACKER_DATA_DIR (default .data)
  --json        exactly {"affiliateS2S", "vendorS2S", "pixel", "ipn"}
  --stack NAME  the deployed stack (default ${DEFAULT_STACK}); reads the key with your AWS credentials`;

/**
 * A few seconds per call and a small attempt budget: an operator waits for this. Through
 * sdkClientConfig, so the request timeout really ends an attempt (without throwOnRequestTimeout
 * the SDK only logs it), and boundToDeadline, so the whole call ends at its budget.
 */
const BUDGET: CallBudget = { attemptTimeoutMs: 5000, attempts: 3, callTimeoutMs: 15_000 };

async function deployedKey(outputs: Record<string, string>): Promise<UrlKey> {
  const secret = outputs.PostbackKeySecret;
  if (secret) {
    const sm = await import('@aws-sdk/client-secrets-manager');
    const client = boundToDeadline(new sm.SecretsManagerClient(sdkClientConfig(BUDGET)), 'Secrets Manager', BUDGET);
    const out = await client.send(new sm.GetSecretValueCommand({ SecretId: secret }));
    if (!out.SecretString) throw new Error(`the secret ${secret} has no value yet`);
    return { value: out.SecretString };
  }
  const parameter = outputs.PostbackKeyParameter;
  if (parameter) {
    const ssm = await import('@aws-sdk/client-ssm');
    const client = boundToDeadline(new ssm.SSMClient(sdkClientConfig(BUDGET)), 'SSM', BUDGET);
    const out = await client.send(new ssm.GetParameterCommand({ Name: parameter, WithDecryption: true }));
    if (!out.Parameter?.Value) throw new Error(`the parameter ${parameter} has no value`);
    return { value: out.Parameter.Value };
  }
  return undefined;
}

export function formatUrls(urls: Digistore24Urls, key: UrlKey): string {
  const lines = [
    'Digistore24 S2S postback URL for affiliates (Account -> S2S postback; append ONE macro, e.g. {transaction_type}):',
    `  ${urls.affiliateS2S}`,
    '',
    'Digistore24 S2S postback URL for vendors, your own product (sum is the net amount without VAT):',
    `  ${urls.vendorS2S}`,
    '',
    'Digistore24 order-form pixel URL (Initiate Checkout; never carries the key):',
    `  ${urls.pixel}`,
    '',
    'Digistore24 IPN URL (vendors; signed with the IPN passphrase, never carries the key; needs digistore24.ipn in the config):',
    `  ${urls.ipn}`,
  ];
  if (key !== undefined && 'value' in key) lines.push('', 'The S2S URLs contain the postback key: treat them like a password.');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { local: { type: 'boolean' }, json: { type: 'boolean' }, stack: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let base: string;
  let key: UrlKey;
  const warnings: string[] = [];
  if (values.local) {
    const config = loadConfig();
    const port = Number(process.env.PORT ?? 3000);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`PORT must be a port number, got "${process.env.PORT}"`);
    base = `http://127.0.0.1:${port}`;
    key = localUrlKey(config, dataDir());
    warnings.push(...protectionWarnings(config));
    if (key !== undefined && 'placeholder' in key) warnings.push(`The key of these URLs is not readable here: put it where ${key.placeholder} stands.`);
  } else {
    const stack = values.stack ?? DEFAULT_STACK;
    const outputs = await stackOutputs(stack);
    const host = outputs.TrackingHost;
    if (!host) throw new Error(`stack ${stack} has no TrackingHost output: is it deployed (npx cdk deploy), and are AWS_REGION / AWS_PROFILE the ones you deployed with?`);
    base = `https://${host}`;
    key = await deployedKey(outputs);
    if (key === undefined) warnings.push(`WARNING: stack ${stack} does not authenticate postbacks (acknowledgeUnprotected): anyone who learns these URLs can record fake sales.`);
  }
  const urls = digistore24Urls(base, key);
  for (const warning of warnings) process.stderr.write(`${warning}\n`);
  process.stdout.write(values.json ? `${JSON.stringify({ affiliateS2S: urls.affiliateS2S, vendorS2S: urls.vendorS2S, pixel: urls.pixel, ipn: urls.ipn })}\n` : `${formatUrls(urls, key)}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`urls: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
