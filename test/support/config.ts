import { parseConfig, type TrackerConfig } from '../../config/schema';
import { digistore24ConversionTypes } from '../../config/digistore24';

/** A config with two offers on one campaign (demo takes cost from its click URLs, split does not), a custom type and the Digistore24 set. */
export function testConfig(overrides: Partial<TrackerConfig['defaults']> = {}): TrackerConfig {
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
  });
}
