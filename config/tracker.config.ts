/**
 * Clickvault's configuration, as code: reviewed in git, applied by `npm start` locally and by
 * `cdk deploy` in AWS. See "Config reference" in README.md for every field.
 */
import { digistore24ConversionTypes } from './digistore24';
import { defineConfig } from './schema';

export default defineConfig({
  defaults: {
    currency: 'EUR',
    clickRetentionDays: 90,
    ipStorage: 'truncated',
  },
  trafficChannels: [
    { id: 'facebook', name: 'Facebook Ads', clickIdParam: 'fbclid' },
    { id: 'google', name: 'Google Ads', clickIdParam: 'gclid' },
  ],
  offers: [
    {
      id: 'ds24-demo',
      name: 'Digistore24 demo offer',
      source: 'digistore24',
      url: 'https://www.digistore24.com/redir/123456/demo-affiliate/?cid={clickid}',
    },
  ],
  campaigns: [
    {
      id: 'demo',
      name: 'Demo campaign',
      trafficChannel: 'facebook',
      offers: [{ offer: 'ds24-demo', weight: 1 }],
    },
  ],
  conversionTypes: [...digistore24ConversionTypes],
  // Every S2S postback must carry this key: npm start keeps a random one in its data directory,
  // the AWS stack generates one in Secrets Manager; `npm run urls` prints the URLs with it.
  postbackProtection: {
    sources: [{ id: 'digistore24', keys: [{ generated: true }] }],
  },
});
