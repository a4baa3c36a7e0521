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

/** The lander pages of funnelConfig(), as the landers' URL templates say. */
export const FUNNEL_LANDERS = {
  bridge: 'https://lp.example.com/bridge?clickid={clickid}&s1={sub1}',
  quiz: 'https://quiz.example.net/q/{sub2}/start?cid={clickid}',
} as const;

/**
 * testConfig() plus a funnel: landers `bridge` (weight 3) and `quiz` (weight 1, a macro in its
 * path) on campaign `funnel` with both offers (its click URLs' cost taken, up to 5.00); campaign `cloaked` sends bots to its botUrl; one
 * extra CORS origin for pages that are not landers.
 */
export function funnelConfig(protection: TrackerConfigInput['postbackProtection'] = TEST_PROTECTION): TrackerConfig {
  const base = testConfig({}, protection);
  return parseConfig({
    ...base,
    landers: [
      { id: 'bridge', name: 'Bridge page', url: FUNNEL_LANDERS.bridge },
      { id: 'quiz', name: 'Quiz', url: FUNNEL_LANDERS.quiz },
    ],
    campaigns: [
      ...base.campaigns,
      {
        id: 'funnel',
        name: 'Funnel',
        trafficChannel: 'facebook',
        cost: { fromUrl: true, max: '5.00' },
        offers: [{ offer: 'ds24', weight: 1 }, { offer: 'lp', weight: 1 }],
        landers: [{ lander: 'bridge', weight: 3 }, { lander: 'quiz', weight: 1 }],
      },
      {
        id: 'cloaked',
        name: 'Cloaked',
        trafficChannel: 'facebook',
        offers: [{ offer: 'ds24' }],
        landers: [{ lander: 'bridge' }],
        botUrl: 'https://safe.example.org/about?c={campaignid}',
      },
    ],
    corsOrigins: ['https://pages.example.org'],
  });
}
