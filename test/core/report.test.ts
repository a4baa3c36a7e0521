import { campaignReport, formatCampaignTable } from '../../lambda/core/report';

describe('campaignReport', () => {
  const rows = campaignReport(
    [{ campaignId: 'b' }, { campaignId: 'a' }, { campaignId: 'a' }, { campaignId: 'a' }],
    [
      { campaignId: 'a', type: 'payment', counted: true, revenue: '0.1', currency: 'EUR' },
      { campaignId: 'a', type: 'payment', counted: true, revenue: '0.2', currency: 'EUR' },
      { campaignId: 'a', type: 'refund', counted: true, revenue: '-0.1', currency: 'EUR' },
      { campaignId: 'a', type: 'payment', counted: true, revenue: '10', currency: 'USD' },
      { campaignId: 'a', type: 'InitiateCheckout', counted: false, revenue: '0', currency: 'EUR' },
      { type: 'payment', counted: true, revenue: '99.99', currency: 'EUR' },
    ],
  );

  it('counts clicks, counted conversions per type and exact net revenue per currency', () => {
    expect(rows).toEqual([
      { campaignId: 'a', clicks: 3, conversions: { payment: 3, refund: 1 }, revenue: { EUR: 0.2, USD: 10 } },
      { campaignId: 'b', clicks: 1, conversions: {}, revenue: {} },
      { campaignId: null, clicks: 0, conversions: { payment: 1 }, revenue: { EUR: 99.99 } },
    ]);
  });

  it('prints an aligned table', () => {
    expect(formatCampaignTable(rows).split('\n')).toEqual([
      'campaign        clicks  conversions         revenue',
      '--------------  ------  ------------------  -------------------',
      'a                    3  payment=3 refund=1  0.20 EUR, 10.00 USD',
      'b                    1  -                   -',
      '(unattributed)       0  payment=1           99.99 EUR',
    ]);
  });
});
