import { parseConfig, type TrackerConfig, type TrackerConfigInput } from '../../config/schema';
import { digistore24ConversionTypes } from '../../config/digistore24';
import { CachedSecretReader } from '../../lambda/adapters/secrets';

/** The generated postback key the test configs' protection resolves to (testSecrets()). */
export const TEST_POSTBACK_KEY = 'test-postback-key-0123456789abcdefghijklmnop';

/** Protection as shipped: one source with a generated key. */
export const TEST_PROTECTION: TrackerConfigInput['postbackProtection'] = { sources: [{ id: 'digistore24', keys: [{ generated: true }] }] };

/** Unprotected, on purpose: for tests about something else that send postbacks without a key. */
export const UNPROTECTED: TrackerConfigInput['postbackProtection'] = { required: false, acknowledgeUnprotected: true };

/**
 * A config with two offers on one campaign (demo takes cost from its click URLs, split does not),
 * a custom type and the Digistore24 set, protected like
 * the shipped config (a generated key: TEST_POSTBACK_KEY through testSecrets()), unless
 * `protection` says otherwise.
 */
export function testConfig(
  overrides: Partial<TrackerConfig['defaults']> = {},
  protection: TrackerConfigInput['postbackProtection'] = TEST_PROTECTION,
): TrackerConfig {
  return parseConfig({
    defaults: { currency: 'EUR', clickRetentionDays: 30, ipStorage: 'truncated', ...overrides },
    trafficChannels: [
      { id: 'facebook', name: 'Facebook', clickIdParam: 'fbclid' },
      { id: 'google', name: 'Google', clickIdParam: 'gclid' },
    ],
    offers: [
      { id: 'ds24', name: 'DS24', source: 'digistore24', url: 'https://www.digistore24.com/redir/123456/aff/?cid={clickid}' },
      { id: 'lp', name: 'Landing', source: 'custom', url: 'https://shop.example.com/lp?c={clickid}&camp={campaignid}&s1={sub1}&s20={sub20}' },
    ],
    campaigns: [
      // demo takes the click URL's cost (capped at 2.00); split does not.
      { id: 'demo', name: 'Demo', trafficChannel: 'facebook', offers: [{ offer: 'ds24' }], cost: { fromUrl: true, max: '2.00' } },
      { id: 'split', name: 'Split', trafficChannel: 'google', offers: [{ offer: 'ds24', weight: 3 }, { offer: 'lp', weight: 1 }] },
    ],
    conversionTypes: [...digistore24ConversionTypes, { name: 'lead', revenue: 'ignore', countsAsConversion: true }],
    postbackProtection: protection,
  });
}

/** The local secret reader the test configs' keys resolve with: the generated key is TEST_POSTBACK_KEY. */
export function testSecrets(env: NodeJS.ProcessEnv = {}): CachedSecretReader {
  return new CachedSecretReader('local', env, undefined, undefined, TEST_POSTBACK_KEY);
}
