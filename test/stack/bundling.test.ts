/**
 * The one test that bundles for real (esbuild, locally, no Docker): a broken handler import or a
 * missing dependency fails here, and each bundle carries the validated config as
 * tracker-config.json where TRACKER_CONFIG points.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { loadConfig } from '../../config/load';
import { BUNDLED_CONFIG_FILE } from '../../lambda/contract';
import { buildClickvault } from '../../lib/clickvault-app';
import { RUNTIME_PROVIDED_MODULES } from '../../lib/tracker-function';
import { CDK_JSON_CONTEXT } from './helpers';

const outdir = mkdtempSync(join(tmpdir(), 'clickvault-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

it('bundles every function with esbuild and ships the validated config with the request handlers', () => {
  const app = new App({ outdir, context: CDK_JSON_CONTEXT });
  buildClickvault(app, { nag: true });
  const assembly = app.synth();
  const template = assembly.getStackByName('Clickvault').template as {
    Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string }; Description?: string; Handler?: string } }>;
  };
  const config = loadConfig();

  const functions = Object.entries(template.Resources).filter(
    // Ours: not the CDK's own provider framework or its BucketDeployment copier (the dashboard page).
    ([id, r]) => r.Type === 'AWS::Lambda::Function' && !id.includes('Providerframework') && !id.startsWith('CustomCDKBucketDeployment'),
  );
  expect(functions.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(
    ['ClickFunction', 'ConversionTypesSyncFunction', 'DashboardApiFunction', 'DeadLetterArchiverFunction', 'IpnFunction', 'LanderFunction', 'PostbackFunction', 'RollupsMarkerFunction', 'RollupsUpkeepFunction', 'ScriptFunction', 'SilenceCheckFunction'].sort(),
  );
  for (const [id, fn] of functions) {
    const key = fn.Properties.Code?.S3Key;
    expect(key).toMatch(/^[0-9a-f]{64}\.zip$/);
    const dir = join(assembly.directory, `asset.${(key as string).replace(/\.zip$/, '')}`);
    const bundle = join(dir, 'index.js');
    expect(statSync(bundle).size).toBeGreaterThan(1000);
    expect(existsSync(join(dir, 'index.js.map'))).toBe(true);
    const code = readFileSync(bundle, 'utf8');
    // The SDK is bundled (pinned by package-lock), not taken from the runtime, except the two
    // secret-reading clients (RUNTIME_PROVIDED_MODULES) and the optional CRT signer the SDK
    // itself loads inside a try/catch.
    const externals = [...code.matchAll(/require\("(@aws-sdk\/[^"]+)"\)/g)].map((m) => m[1] ?? '');
    for (const external of externals) expect(['@aws-sdk/signature-v4-crt', ...RUNTIME_PROVIDED_MODULES]).toContain(external);
    expect(code).toMatch(/exports|module\.exports/);
    if (id.startsWith('ScriptFunction')) {
      // The direct-tracking script's function serves a constant: no DynamoDB client, no config.
      expect(code).not.toContain('DynamoDBClient');
      expect(code).toContain('clickvault:clickid');
      expect(statSync(bundle).size).toBeLessThan(150_000);
      expect(existsSync(join(dir, BUNDLED_CONFIG_FILE))).toBe(false);
      continue;
    }
    expect(code).toContain('DynamoDBClient');
    // The request functions read the config; the sync function, the archiver and the rollup
    // marker (it only marks hours from click ids) do not.
    if (!id.startsWith('ConversionTypes') && !id.startsWith('DeadLetterArchiver') && !id.startsWith('RollupsMarker')) {
      expect(JSON.parse(readFileSync(join(dir, BUNDLED_CONFIG_FILE), 'utf8'))).toEqual(config);
    } else {
      expect(existsSync(join(dir, BUNDLED_CONFIG_FILE))).toBe(false);
    }
  }
});
