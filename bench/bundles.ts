/**
 * The function bundles, built exactly as the stack builds them: the real app is synthesized
 * with bundling on, and two baselines (an empty handler, a handler that only creates the
 * DynamoDB client) are built by the same TrackerFunction construct, so every bundle shares the
 * esbuild settings, the runtime target and the environment (NODE_OPTIONS, ...).
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { buildClickvault } from '../lib/clickvault-app';
import { HANDLER_DEADLINE_MS } from '../lambda/contract';
import { TrackerFunction } from '../lib/tracker-function';

export type BundleName = 'click' | 'lander' | 'postback' | 'ipn' | 'empty' | 'sdkClient';

export interface Bundle {
  name: BundleName;
  /** Directory of the asset (index.js, its source map, tracker-config.json). */
  dir: string;
  /** Minified index.js bytes. */
  bytes: number;
  memorySize: number;
  architecture: string;
  /** The function's environment variables as synthesized (strings only). */
  environment: Record<string, string>;
}

interface TemplateFunction {
  Type: string;
  Metadata?: Record<string, unknown>;
  Properties: { MemorySize?: number; Architectures?: string[]; Environment?: { Variables?: Record<string, unknown> } };
}

const LOGICAL_PREFIX: Record<BundleName, string> = {
  click: 'ClickFunction',
  lander: 'LanderFunction',
  postback: 'PostbackFunction',
  ipn: 'IpnFunction',
  empty: 'EmptyFunction',
  sdkClient: 'SdkClientFunction',
};

export function buildBundles(): { outdir: string; bundles: Record<BundleName, Bundle>; template: Record<string, unknown> } {
  const outdir = mkdtempSync(join(tmpdir(), 'clickvault-bench-'));
  // Asset metadata (aws:asset:path) is what tells which directory holds which function's bundle.
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  buildClickvault(app, { nag: false });
  const baselines = new Stack(app, 'BenchBaselines');
  const common = { memorySize: 256, timeout: Duration.seconds(5), deadlineMs: HANDLER_DEADLINE_MS.click, logRetention: logs.RetentionDays.ONE_WEEK, logLevel: 'INFO' as const };
  new TrackerFunction(baselines, 'EmptyFunction', { entry: 'bench/baselines/empty.ts', description: 'bench baseline: empty handler', ...common });
  new TrackerFunction(baselines, 'SdkClientFunction', { entry: 'bench/baselines/sdk-client.ts', description: 'bench baseline: DynamoDB client only', ...common });
  app.synth();

  const resources: Record<string, TemplateFunction> = {};
  let tracker: Record<string, unknown> = {};
  for (const stack of ['Clickvault', 'BenchBaselines']) {
    const template = JSON.parse(readFileSync(join(outdir, `${stack}.template.json`), 'utf8')) as { Resources: Record<string, TemplateFunction> };
    if (stack === 'Clickvault') tracker = template as unknown as Record<string, unknown>;
    Object.assign(resources, template.Resources);
  }
  const find = (name: BundleName): Bundle => {
    const entry = Object.entries(resources).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith(LOGICAL_PREFIX[name]));
    if (!entry) throw new Error(`no ${LOGICAL_PREFIX[name]} in the synthesized templates`);
    const [, fn] = entry;
    const assetPath = fn.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string') throw new Error(`${LOGICAL_PREFIX[name]} has no asset path (bundling skipped?)`);
    const dir = join(outdir, assetPath);
    const environment: Record<string, string> = {};
    for (const [k, v] of Object.entries(fn.Properties.Environment?.Variables ?? {})) if (typeof v === 'string') environment[k] = v;
    return {
      name,
      dir,
      bytes: statSync(join(dir, 'index.js')).size,
      memorySize: fn.Properties.MemorySize ?? 128,
      architecture: fn.Properties.Architectures?.[0] ?? 'x86_64',
      environment,
    };
  };
  const bundles = { click: find('click'), lander: find('lander'), postback: find('postback'), ipn: find('ipn'), empty: find('empty'), sdkClient: find('sdkClient') };
  return { outdir, bundles, template: tracker };
}
