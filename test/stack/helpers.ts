/**
 * Builds the app the way bin/app.ts does (same context defaults from cdk.json), with esbuild
 * bundling skipped so template-only tests stay fast.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildClickvault, type BuildOptions, type ClickvaultStacks } from '../../lib/clickvault-app';

export const CDK_JSON_CONTEXT: Record<string, unknown> = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

export const ZONE = { domainName: 'trk.example.com', hostedZoneName: 'example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ' };
export const ACCOUNT = '123456789012';

export interface Built extends ClickvaultStacks {
  app: App;
  template: Template;
}

export function build(context: Record<string, unknown> = {}, options: BuildOptions = {}): Built {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });
  const stacks = buildClickvault(app, { nag: false, ...options });
  return { app, ...stacks, template: Template.fromStack(stacks.tracker) };
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; [k: string]: unknown }>;

export function resources(template: Template, type?: string): Resources {
  const all = template.toJSON().Resources as Resources;
  if (type === undefined) return all;
  return Object.fromEntries(Object.entries(all).filter(([, r]) => r.Type === type));
}

/** The single logical id of a resource of `type` whose id starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(resources(template, type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0] as string;
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** Every statement of every inline policy attached to the role (by logical id). */
export function roleStatements(template: Template, roleId: string): Statement[] {
  const out: Statement[] = [];
  for (const policy of Object.values(resources(template, 'AWS::IAM::Policy'))) {
    const props = policy.Properties as { Roles: unknown[]; PolicyDocument: { Statement: Statement[] } };
    if (props.Roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }))) {
      out.push(...props.PolicyDocument.Statement);
    }
  }
  const role = resources(template, 'AWS::IAM::Role')[roleId];
  const inline = (role?.Properties?.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
  for (const p of inline) out.push(...p.PolicyDocument.Statement);
  return out;
}

/** `[action, resource]` pairs, one per action x resource, as sorted JSON strings for comparison. */
export function grants(statements: Statement[]): string[] {
  const pairs: string[] = [];
  for (const s of statements) {
    if (s.Effect !== 'Allow') continue;
    const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
    const res = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
    for (const a of actions) for (const r of res) pairs.push(`${a} ${JSON.stringify(r)}`);
  }
  return pairs.sort();
}

export const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

export function stackNames(app: App): string[] {
  return app.node.children.map((c) => (c as Stack).stackName).filter((n): n is string => typeof n === 'string');
}

/**
 * A CloudFormation value inside a Fn::Join as a readable placeholder: `{{Ref:Id}}`,
 * `{{GetAtt:Id.Attr}}`. Fails on anything else, so a new kind of token is noticed.
 */
function placeholder(part: unknown): string {
  if (typeof part === 'string') return part;
  const ref = (part as { Ref?: string }).Ref;
  if (typeof ref === 'string') return `{{Ref:${ref}}}`;
  const getAtt = (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `{{GetAtt:${getAtt[0]}.${getAtt[1]}}}`;
  throw new Error(`unexpected token in a Fn::Join: ${JSON.stringify(part)}`);
}

/** A string property that may be a Fn::Join of literals and Ref/GetAtt tokens, as one string. */
export function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error(`not a string or Fn::Join: ${JSON.stringify(value)}`);
  return join[1].map(placeholder).join(join[0]);
}

export interface DashboardWidget {
  type: string;
  width: number;
  height: number;
  x: number;
  y: number;
  properties: {
    title?: string;
    region?: string;
    period?: number;
    alarms?: string[];
    metrics?: (string | Record<string, unknown>)[][];
    yAxis?: { left?: { min?: number } };
    [k: string]: unknown;
  };
}

/** The parsed DashboardBody of the one dashboard in the template (tokens as placeholders). */
export function dashboardBody(template: Template): { start?: string; widgets: DashboardWidget[] } {
  const dashboards = Object.values(resources(template, 'AWS::CloudWatch::Dashboard'));
  if (dashboards.length !== 1) throw new Error(`expected one dashboard, found ${dashboards.length}`);
  return JSON.parse(joined(dashboards[0]?.Properties?.DashboardBody)) as { start?: string; widgets: DashboardWidget[] };
}
