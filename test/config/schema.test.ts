import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configPath, loadConfig } from '../../config/load';
import { ConfigError, parseConfig, protectionWarnings, type TrackerConfigInput } from '../../config/schema';
import shipped from '../../config/tracker.config';
import { digistore24IpnConversionTypes } from '../../config/digistore24';

function problems(input: unknown): string[] {
  try {
    parseConfig(input, 'test');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the config to be refused');
}

const valid = (): TrackerConfigInput => JSON.parse(JSON.stringify(shipped)) as TrackerConfigInput;

describe('the shipped config', () => {
  it('defines campaign demo -> the Digistore24 demo offer and the full Digistore24 type set', () => {
    const config = loadConfig();
    expect(config.campaigns.find((c) => c.id === 'demo')?.offers).toEqual([{ offer: 'ds24-demo', weight: 1 }]);
    expect(config.offers.find((o) => o.id === 'ds24-demo')?.url).toBe('https://www.digistore24.com/redir/123456/demo-affiliate/?cid={clickid}');
    expect(config.conversionTypes.map((t) => t.name)).toEqual([
      'payment', 'refund', 'chargeback', 'initial_sale', 'upsell', 'single_payment', 'subscription',
      'installment', 'paying', 'completed', 'aborted', 'InitiateCheckout',
    ]);
    expect(config.conversionTypes.filter((t) => t.revenue === 'subtract').map((t) => t.name)).toEqual(['refund', 'chargeback']);
    expect(config.defaults).toEqual({ currency: 'EUR', clickRetentionDays: 90, ipStorage: 'truncated', rollupRetentionDays: 1095, silenceAlarm: { hours: 6, minClicks: 500 } });
  });

  it('requires a postback key the tracker generates: protected by default', () => {
    expect(loadConfig().postbackProtection).toEqual({ required: true, sources: [{ id: 'digistore24', keys: [{ generated: true }] }] });
  });
});

describe('postback protection is required', () => {
  it('refuses a config without postbackProtection, saying why and how', () => {
    const { postbackProtection: _none, ...c } = valid();
    const [problem, ...rest] = problems(c);
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^postbackProtection: is required: without it anyone who learns the postback URL can record fake sales\./);
    expect(problem).toContain("keys: [{ generated: true }]");
    expect(problem).toContain('npm run urls');
    expect(problem).toContain('{ required: false, acknowledgeUnprotected: true }');
  });

  it('runs unprotected only when acknowledged, and then (and in the switch-over) warns', () => {
    expect(problems({ ...valid(), postbackProtection: { required: false } })).toEqual([
      'postbackProtection.acknowledgeUnprotected: without sources every postback is accepted unauthenticated (anyone can record fake sales): add sources with keys, or set acknowledgeUnprotected: true',
    ]);
    expect(problems({ ...valid(), postbackProtection: {} })).toEqual([
      "postbackProtection.sources: name at least one source with its keys, e.g. [{ id: 'digistore24', keys: [{ generated: true }] }]",
    ]);
    expect(problems({ ...valid(), postbackProtection: { required: true, acknowledgeUnprotected: true, sources: [{ id: 's', keys: [{ generated: true }] }] } })).toEqual([
      'postbackProtection.acknowledgeUnprotected: contradicts required: true; set required: false to run unprotected',
    ]);
    const open = parseConfig({ ...valid(), postbackProtection: { required: false, acknowledgeUnprotected: true } });
    expect(open.postbackProtection).toEqual({ required: false, acknowledgeUnprotected: true });
    expect(protectionWarnings(open)).toEqual([expect.stringMatching(/^WARNING: postbacks are NOT protected/)]);
    // The switch-over: keys checked when sent, keyless postbacks still accepted (README, "Postback protection").
    const switchOver = parseConfig({ ...valid(), postbackProtection: { required: false, sources: [{ id: 's', keys: [{ generated: true }] }] } });
    expect(protectionWarnings(switchOver)).toEqual([expect.stringMatching(/^WARNING: postbacks without a key are accepted .*switch-over/)]);
    expect(protectionWarnings(loadConfig())).toEqual([]);
  });

  it('generates one key at most, never an IPN passphrase, and nothing beside generated: true', () => {
    expect(
      problems({ ...valid(), postbackProtection: { sources: [{ id: 'a', keys: [{ generated: true }] }, { id: 'b', keys: [{ generated: true }, { generated: true, env: 'X' }] }] } }),
    ).toEqual([
      'postbackProtection.sources[1].keys[1]: a generated key is made by the tracker: name nothing else beside generated: true',
      'postbackProtection.sources[1].keys[0]: only one key can be generated: rotate with a key of your own (secretsManager or ssmParameter) beside it',
      'postbackProtection.sources[1].keys[1]: only one key can be generated: rotate with a key of your own (secretsManager or ssmParameter) beside it',
    ]);
    const c = valid();
    c.digistore24 = { ipn: { passphrase: { generated: true }, events: { on_payment: { types: ['payment'] } } } };
    expect(problems(c)).toEqual(['digistore24.ipn.passphrase: the IPN passphrase is set in Digistore24 and cannot be generated: name secretsManager, ssmParameter and/or env']);
  });
});

describe('currencies and click cost', () => {
  it('takes only ISO 4217 codes, and an allowlist that holds the default', () => {
    expect(problems({ ...valid(), defaults: { currency: 'BTC' } })).toEqual(['defaults.currency: currency must be an ISO 4217 code in upper case, such as EUR']);
    expect(problems({ ...valid(), defaults: { currency: 'EUR', currencies: ['USD', 'XYZ'] } })).toEqual([
      'defaults.currencies[1]: currencies must be ISO 4217 codes in upper case, such as EUR',
      'defaults.currency: "EUR" must be one of defaults.currencies (USD, XYZ)',
    ]);
    expect(problems({ ...valid(), defaults: { currency: 'EUR', currencies: ['USD'] } })).toEqual(['defaults.currency: "EUR" must be one of defaults.currencies (USD)']);
    expect(parseConfig({ ...valid(), defaults: { currency: 'EUR', currencies: ['EUR', 'USD'] } }).defaults.currencies).toEqual(['EUR', 'USD']);
  });

  it('lets a campaign opt in to the URL cost only with a cap', () => {
    const with_ = (cost: unknown) => {
      const c = valid();
      (c.campaigns[0] as Record<string, unknown>).cost = cost;
      return c;
    };
    expect(parseConfig(with_({ fromUrl: true, max: '2.00' })).campaigns[0]?.cost).toEqual({ fromUrl: true, max: '2.00' });
    expect(problems(with_({ fromUrl: true }))).toEqual(['campaigns[0].cost.max: Invalid input: expected string, received undefined']);
    expect(problems(with_({ fromUrl: true, max: '-1' }))).toEqual(["campaigns[0].cost.max: cost.max must be a non-negative decimal such as '2.00'"]);
    expect(problems(with_({ fromUrl: true, max: '0.00' }))).toEqual(['campaigns[0].cost.max: must be above 0 when fromUrl is true']);
  });
});

describe('validation', () => {
  it('names the exact path of a dangling reference', () => {
    const c = valid();
    c.campaigns.push({ id: 'second', name: 'Second', trafficChannel: 'facebook', offers: [{ offer: 'x' }] });
    expect(problems(c)).toEqual(['campaigns[1].offers[0].offer: "x" is not a defined offer']);
  });

  it('reports every problem at once', () => {
    const c = valid();
    const campaign = c.campaigns[0];
    const offer = c.offers[0];
    if (!campaign || !offer) throw new Error('shipped config changed');
    campaign.trafficChannel = 'tiktok';
    campaign.id = 'has space';
    offer.url = 'https://www.digistore24.com/redir/123456/aff/';
    c.conversionTypes.push({ name: 'payment' });
    expect(problems(c)).toEqual(
      expect.arrayContaining([
        'campaigns[0].id: campaign id must be 1-64 letters, digits, "_" or "-"',
        'offers[0].url: must contain {clickid}, got "https://www.digistore24.com/redir/123456/aff/"',
        'conversionTypes[12].name: "payment" is defined twice',
      ]),
    );
  });

  it('asks for ?cid={clickid} on Digistore24 offers and refuses non-http URLs', () => {
    const c = valid();
    const offer = c.offers[0];
    if (!offer) throw new Error('shipped config changed');
    offer.url = 'https://www.digistore24.com/redir/123456/aff/?sid1={clickid}';
    expect(problems(c)).toEqual(['offers[0].url: Digistore24 takes the click id as ?cid={clickid}; add it to "https://www.digistore24.com/redir/123456/aff/?sid1={clickid}"']);
    offer.url = 'javascript:alert(1)//{clickid}';
    expect(problems(c)[0]).toMatch(/^offers\[0\]\.url: url must use https:\/\/ or http:\/\//);
  });

  it('refuses unknown keys and bad defaults', () => {
    const c = { ...valid(), defaults: { currency: 'euro', clickRetentionDays: 0, ipStorage: 'half', rollupRetentionDays: 3651 } };
    expect(problems(c)).toEqual([
      'defaults.currency: currency must be an ISO 4217 code in upper case, such as EUR',
      'defaults.clickRetentionDays: Too small: expected number to be >=1',
      'defaults.ipStorage: Invalid option: expected one of "full"|"truncated"|"none"',
      'defaults.rollupRetentionDays: Too big: expected number to be <=3650',
    ]);
    expect(problems({ ...valid(), extra: 1 })).toEqual(['(root): Unrecognized key: "extra"']);
  });
});

describe('TRACKER_CONFIG', () => {
  it('chooses a JSON file with the same shape', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-config-'));
    const file = join(dir, 'alt.json');
    const c = valid();
    const campaign = c.campaigns[0];
    if (!campaign) throw new Error('shipped config changed');
    campaign.id = 'alt';
    writeFileSync(file, JSON.stringify(c));
    expect(configPath({ TRACKER_CONFIG: file })).toBe(file);
    expect(loadConfig(configPath({ TRACKER_CONFIG: file })).campaigns[0]?.id).toBe('alt');
  });

  it('fails with the file and the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cv-config-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ not json');
    expect(() => loadConfig(file)).toThrow(/Invalid tracker config \(.*bad\.json\):\n {2}- cannot read the config/);
  });
});

describe('digistore24.ipn and postbackProtection', () => {
  it('fills IPN defaults and checks the mapped types exist', () => {
    const c = valid();
    c.digistore24 = { ipn: {} };
    const ipnTypes = ['payment_missed', 'payment_denial', 'rebill_cancelled', 'rebill_resumed', 'last_paid_day'].map((name) => ({ name }));
    const parsed = parseConfig({ ...c, conversionTypes: [...c.conversionTypes, ...ipnTypes] });
    expect(parsed.digistore24?.ipn).toMatchObject({
      passphrase: { env: 'DS24_IPN_PASSPHRASE' },
      // Real IPNs carry the click id in click_id; amount_netto is never 0 on a vendor's own sale
      // and is what the vendor S2S URL sends as sum=: a sale that arrives by both is one amount.
      clickIdFields: ['click_id', 'cid', 'custom', 'trackingkey'],
      revenueField: 'amount_netto',
      storeBuyerData: false,
      recordTestOrders: false,
      events: {
        on_payment: { types: ['payment'], byOrderPosition: true },
        on_payment_subscription_signup: { types: ['payment'], byOrderPosition: true },
        last_paid_day: { types: ['last_paid_day'], byOrderPosition: false },
        payment_denial: { types: ['payment_denial'], byOrderPosition: false },
      },
    });
    expect(problems(c)).toEqual([
      'digistore24.ipn.events.on_payment_missed.types[0]: "payment_missed" is not a defined conversion type (spread digistore24IpnConversionTypes into conversionTypes)',
      'digistore24.ipn.events.on_rebill_cancelled.types[0]: "rebill_cancelled" is not a defined conversion type (spread digistore24IpnConversionTypes into conversionTypes)',
      'digistore24.ipn.events.on_rebill_resumed.types[0]: "rebill_resumed" is not a defined conversion type (spread digistore24IpnConversionTypes into conversionTypes)',
      'digistore24.ipn.events.last_paid_day.types[0]: "last_paid_day" is not a defined conversion type (spread digistore24IpnConversionTypes into conversionTypes)',
      'digistore24.ipn.events.payment_denial.types[0]: "payment_denial" is not a defined conversion type (spread digistore24IpnConversionTypes into conversionTypes)',
    ]);
    // digistore24IpnConversionTypes is exactly what the default event map needs.
    expect(() => parseConfig({ ...c, conversionTypes: [...c.conversionTypes, ...digistore24IpnConversionTypes] })).not.toThrow();
    expect(problems({ ...c, digistore24: { ipn: { clickIdFields: ['click_id', 'email'] } } } as typeof c)).toContain(
      'digistore24.ipn.clickIdFields[1]: Invalid option: expected one of "click_id"|"cid"|"custom"|"trackingkey"',
    );
  });

  it('checks secret references and allowlists', () => {
    const c = valid();
    c.postbackProtection = {
      sources: [
        { id: 'ds24', keys: [{ secretsManager: 'a', ssmParameter: '/b' }, {}], allowedIps: ['203.0.113.0/24', '2001:db8::/129', 'nope'] },
      ],
    };
    expect(problems(c)).toEqual([
      'postbackProtection.sources[0].keys[0]: name either secretsManager or ssmParameter, not both',
      'postbackProtection.sources[0].keys[1]: name where the secret lives: generated: true, or secretsManager, ssmParameter and/or env',
      'postbackProtection.sources[0].allowedIps[1]: "2001:db8::/129" is not an IP address or CIDR range',
      'postbackProtection.sources[0].allowedIps[2]: "nope" is not an IP address or CIDR range',
    ]);
  });
});

describe('campaign click-id codes', () => {
  it('caps distinct dead letters per source and hour at 1,000 by default, and takes only a whole number >= 1', () => {
    expect(loadConfig().deadLetters).toEqual({ maxDistinctPerHour: 1000 });
    expect(parseConfig({ ...valid(), deadLetters: { maxDistinctPerHour: 50 } }).deadLetters.maxDistinctPerHour).toBe(50);
    expect(problems({ ...valid(), deadLetters: { maxDistinctPerHour: 0 } })).toEqual(['deadLetters.maxDistinctPerHour: maxDistinctPerHour must be at least 1']);
    expect(problems({ ...valid(), deadLetters: { maxDistinctPerHour: 2.5 } })).toEqual(['deadLetters.maxDistinctPerHour: maxDistinctPerHour must be a whole number']);
    expect(problems({ ...valid(), deadLetters: { maxDistinctPerHour: 1000, perSource: 3 } })).toEqual([expect.stringMatching(/^deadLetters: Unrecognized key/)]);
  });

  it('refuses two campaigns whose 20-bit codes collide, naming both', () => {
    const c = valid();
    const campaign = c.campaigns[0];
    if (!campaign) throw new Error('shipped config changed');
    // c1404 and c1657 hash to the same code (found by search; 1 in ~1M for a random pair).
    c.campaigns = [{ ...campaign, id: 'c1404' }, { ...campaign, id: 'c1657' }];
    expect(problems(c)).toEqual(['campaigns[1].id: "c1657" shares its click-id code with campaign "c1404"; rename one of them']);
  });
});

describe('offer URLs cannot be steered by click parameters', () => {
  it.each(['https://example.com{sub1}/?cid={clickid}', 'https://{sub1}.example.com/?cid={clickid}', 'https://example.com:{sub2}/x?c={clickid}', 'https://user{sub1}@example.com/?c={clickid}'])(
    'refuses a macro outside path and query: %s',
    (url) => {
      const c = valid();
      c.offers.push({ id: 'x', name: 'X', source: 'custom', url });
      expect(problems(c).join('\n')).toMatch(/offers\[1\]\.url: url: macros may only appear in the path or query, not in the host|offers\[1\]\.url: url must be an absolute/);
    },
  );

  it('accepts macros in path and query', () => {
    const c = valid();
    c.offers.push({ id: 'x', name: 'X', source: 'custom', url: 'https://example.com/{campaignid}/lp?c={clickid}&s={sub1}' });
    expect(() => parseConfig(c)).not.toThrow();
  });
});

describe('landers, botUrl and corsOrigins', () => {
  const withFunnel = (patch: (c: TrackerConfigInput) => void): TrackerConfigInput => {
    const c = valid();
    c.landers = [{ id: 'bridge', name: 'Bridge', url: 'https://lp.example.com/bridge?clickid={clickid}&s={sub1}' }];
    c.campaigns.push({ id: 'funnel', name: 'Funnel', trafficChannel: 'facebook', offers: [{ offer: 'ds24-demo' }], landers: [{ lander: 'bridge' }] });
    patch(c);
    return c;
  };
  const funnelCampaign = (c: TrackerConfigInput) => {
    const campaign = c.campaigns.find((x) => x.id === 'funnel');
    if (!campaign) throw new Error('no funnel');
    return campaign;
  };

  it('accepts landers with weights, a botUrl and CORS origins, with defaults filled in', () => {
    const config = parseConfig(withFunnel((c) => {
      funnelCampaign(c).botUrl = 'https://example.org/about?c={campaignid}';
      c.corsOrigins = ['https://pages.example.org', 'http://localhost:8080'];
    }));
    expect(config.landers).toEqual([{ id: 'bridge', name: 'Bridge', url: 'https://lp.example.com/bridge?clickid={clickid}&s={sub1}' }]);
    expect(config.campaigns[1]?.landers).toEqual([{ lander: 'bridge', weight: 1 }]);
    expect(loadConfig().landers).toEqual([]);
    expect(loadConfig().corsOrigins).toEqual([]);
    expect(loadConfig().campaigns[0]?.landers).toBeUndefined();
  });

  it('refuses a lander URL without {clickid}, with an unknown macro, or with a macro in its host', () => {
    expect(problems(withFunnel((c) => ((c.landers ?? [])[0] = { id: 'bridge', name: 'B', url: 'https://lp.example.com/bridge' })))).toEqual([
      'landers[0].url: must contain {clickid} (the lander passes it on to /go), got "https://lp.example.com/bridge"',
    ]);
    expect(problems(withFunnel((c) => ((c.landers ?? [])[0] = { id: 'bridge', name: 'B', url: 'https://lp.example.com/?c={clickId}&x={clickid}' })))).toEqual([
      'landers[0].url: unknown macro {clickId}; use {clickid}, {campaignid} or {sub1}..{sub20}',
    ]);
    expect(problems(withFunnel((c) => ((c.landers ?? [])[0] = { id: 'bridge', name: 'B', url: 'https://{sub1}.example.com/?c={clickid}' })))).toEqual([
      expect.stringMatching(/^landers\[0\]\.url: url: macros may only appear in the path or query, not in the host/),
    ]);
    expect(problems(withFunnel((c) => ((c.landers ?? [])[0] = { id: 'bridge', name: 'B', url: 'ftp://lp.example.com/?c={clickid}' })))).toEqual([
      'landers[0].url: url must use https:// or http://, got "ftp:"',
    ]);
  });

  it('names a dangling lander, a duplicate lander id, an empty lander list and a bad botUrl by path', () => {
    expect(problems(withFunnel((c) => (funnelCampaign(c).landers = [{ lander: 'nope' }])))).toEqual(['campaigns[1].landers[0].lander: "nope" is not a defined lander']);
    expect(problems(withFunnel((c) => c.landers?.push({ id: 'bridge', name: 'Again', url: 'https://lp.example.com/2?c={clickid}' })))).toEqual(['landers[1].id: "bridge" is defined twice']);
    expect(problems(withFunnel((c) => (funnelCampaign(c).landers = [])))).toEqual(['campaigns[1].landers: list at least one lander, or leave landers out']);
    expect(problems(withFunnel((c) => (funnelCampaign(c).botUrl = 'https://{sub1}.example.org/')))).toEqual([expect.stringMatching(/^campaigns\[1\]\.botUrl: botUrl: macros may only appear in the path or query/)]);
    expect(problems(withFunnel((c) => (funnelCampaign(c).landers = [{ lander: 'bridge', weight: 0 }])))).toEqual([expect.stringMatching(/^campaigns\[1\]\.landers\[0\]\.weight: /)]);
  });

  it('takes corsOrigins as bare origins only', () => {
    for (const bad of ['https://lp.example.com/', 'https://lp.example.com/path', 'lp.example.com', '*', 'ftp://lp.example.com', 'https://LP.example.com']) {
      expect(problems(withFunnel((c) => (c.corsOrigins = [bad])))).toEqual([expect.stringMatching(/^corsOrigins\[0\]: must be an origin such as https:\/\/lp\.example\.com/)]);
    }
  });
});
