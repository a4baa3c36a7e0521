/** What bin/app.ts does before any construct: load and validate the config and the context. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../config/load';
import { digistore24IpnConversionTypes } from '../../config/digistore24';
import { ConfigError, parseConfig } from '../../config/schema';
import { buildClickvault } from '../../lib/clickvault-app';
import { writeBundledConfig } from '../../lib/bundled-config';
import { ContextError } from '../../lib/settings';
import { clickUrlPattern, digistore24OutputUrls } from '../../lib/tracker-urls';
import { CDK_JSON_CONTEXT } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'clickvault-app-test-'));
const saved = process.env.TRACKER_CONFIG;
afterEach(() => {
  if (saved === undefined) delete process.env.TRACKER_CONFIG;
  else process.env.TRACKER_CONFIG = saved;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const newApp = (context: Record<string, unknown> = {}) =>
  new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });

describe('the tracker config at synth', () => {
  it('is loaded from TRACKER_CONFIG, and an invalid one fails synth with its message', () => {
    const valid = loadConfig();
    const broken = { ...valid, campaigns: [{ ...valid.campaigns[0], offers: [{ offer: 'nope', weight: 1 }] }] };
    const file = join(dir, 'broken.json');
    writeFileSync(file, JSON.stringify(broken));
    process.env.TRACKER_CONFIG = file;
    expect(() => buildClickvault(newApp(), { nag: false })).toThrow(ConfigError);
    expect(() => buildClickvault(newApp(), { nag: false })).toThrow(/campaigns\[0\]\.offers\[0\]\.offer: "nope" is not a defined offer/);
  });

  it('refuses secrets that only name an environment variable: they cannot be read in AWS', () => {
    const base = loadConfig();
    const config = parseConfig({
      ...base,
      conversionTypes: [...base.conversionTypes, ...digistore24IpnConversionTypes],
      digistore24: { ipn: {} },
      postbackProtection: { sources: [{ id: 'ds24', keys: [{ secretsManager: 'clickvault/pb', env: 'PB' }, { env: 'PB_OLD' }] }] },
    });
    expect(() => buildClickvault(newApp(), { nag: false, config })).toThrow(
      /cannot be read in AWS: digistore24\.ipn\.passphrase \(only env DS24_IPN_PASSPHRASE\), postbackProtection\.sources\[0\]\.keys\[1\] \(only env PB_OLD\)/,
    );
  });

  it('is written for the bundles as validated JSON, named by its content', () => {
    const config = loadConfig();
    const a = writeBundledConfig(config, dir);
    const b = writeBundledConfig(config, dir);
    expect(a).toBe(b);
    expect(a).toMatch(/tracker-config-[0-9a-f]{16}\.json$/);
    const changed = writeBundledConfig({ ...config, defaults: { ...config.defaults, currency: 'USD' } }, dir);
    expect(changed).not.toBe(a);
  });
});

describe('postback protection at synth', () => {
  const withProtection = (postbackProtection: unknown) => parseConfig({ ...loadConfig(), postbackProtection });
  const synth = (postbackProtection: unknown) => {
    const { tracker } = buildClickvault(newApp(), { nag: false, config: withProtection(postbackProtection) });
    return { tracker, template: Template.fromStack(tracker), warnings: Annotations.fromStack(tracker).findWarning('*', Match.anyValue()) };
  };
  const outputs = (template: Template) => template.toJSON().Outputs as Record<string, { Value: unknown }>;

  it('warns, makes no key and shows S2S URLs without one when unprotected on purpose', () => {
    const { template, warnings } = synth({ required: false, acknowledgeUnprotected: true });
    expect(warnings.map((w) => String(w.entry.data))).toEqual([expect.stringMatching(/^postbacks are NOT protected/)]);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1); // the origin-verify secret only
    expect(JSON.stringify(outputs(template).Digistore24AffiliatePostbackUrl?.Value)).not.toContain('key=');
    expect(outputs(template).PostbackKeySecret).toBeUndefined();
  });

  it('warns in the switch-over (required: false with sources) and still shows where the key goes', () => {
    const { template, warnings } = synth({ required: false, sources: [{ id: 'ds24', keys: [{ generated: true }] }] });
    expect(warnings.map((w) => String(w.entry.data))).toEqual([expect.stringMatching(/switch-over/)]);
    expect(JSON.stringify(outputs(template).Digistore24AffiliatePostbackUrl?.Value)).toContain('key=<see npm run urls>');
  });

  it('says nothing for the shipped config, and names where a key of your own lives (the newest key of the first source)', () => {
    expect(synth({ sources: [{ id: 'ds24', keys: [{ generated: true }] }] }).warnings).toEqual([]);
    const own = synth({ sources: [{ id: 'ds24', keys: [{ generated: true }, { secretsManager: 'clickvault/postback-2027' }] }] }).template;
    expect(outputs(own).PostbackKeySecret?.Value).toBe('clickvault/postback-2027');
    const ssm = synth({ sources: [{ id: 'ds24', keys: [{ ssmParameter: '/clickvault/postback' }] }] }).template;
    expect(outputs(ssm).PostbackKeyParameter?.Value).toBe('/clickvault/postback');
    expect(outputs(ssm).PostbackKeySecret).toBeUndefined();
    // No generated key in the config: no generated secret either.
    ssm.resourceCountIs('AWS::SecretsManager::Secret', 1);
  });
});

describe('the context at synth', () => {
  it('fails before building anything when inconsistent', () => {
    const app = newApp({ domainName: 'trk.example.org', hostedZoneName: 'example.com' });
    expect(() => buildClickvault(app, { nag: false })).toThrow(ContextError);
    expect(app.node.children).toHaveLength(0);
  });

  it('builds one stack named Clickvault by default, env-agnostic without credentials', () => {
    const app = newApp();
    const { tracker, certificate } = buildClickvault(app, { nag: false });
    expect(tracker.stackName).toBe('Clickvault');
    expect(certificate).toBeUndefined();
    expect(tracker.environment).toBe('aws://unknown-account/unknown-region');
  });
});

describe('user-facing URLs', () => {
  it('are exactly what Digistore24 and the ad platforms need', () => {
    expect(clickUrlPattern('trk.example.com')).toBe('https://trk.example.com/click/<campaignId>');
    expect(digistore24OutputUrls('trk.example.com', true)).toEqual({
      affiliateS2S: 'https://trk.example.com/postback?clickid={cid}&sum={amount_affiliate}&currency={currency}&txid={transaction_id}&key=<see npm run urls>&type=',
      vendorS2S: 'https://trk.example.com/postback?clickid={cid}&sum={amount_netto}&currency={currency}&txid={transaction_id}&key=<see npm run urls>&type=',
      pixel: 'https://trk.example.com/postback?format=img&clickid=__cid__&type=InitiateCheckout',
      ipn: 'https://trk.example.com/ipn/digistore24',
    });
    // Unprotected (acknowledged): no key at all.
    expect(digistore24OutputUrls('trk.example.com', false).affiliateS2S).toBe(
      'https://trk.example.com/postback?clickid={cid}&sum={amount_affiliate}&currency={currency}&txid={transaction_id}&type=',
    );
  });
});

describe('routeMap', () => {
  it('serves every contract route by its name family', () => {
    const { routeMap } = jest.requireActual<typeof import('../../lib/clickvault-stack')>('../../lib/clickvault-stack');
    const map = routeMap({ click: 'c', postback: 'p', ipn: 'i', lander: 'l', script: 's' });
    expect(Object.keys(map).sort()).toEqual(Object.values(jest.requireActual<typeof import('../../lambda/contract')>('../../lambda/contract').ROUTES).sort());
    expect(map['GET /click/{campaignId}']).toBe('c');
    expect(map['POST /postback']).toBe('p');
  });
});
