/** The spend CSV: every row checked with its line and column, and nothing accepted from a bad file. */
import { SpendFileError, parseSpendCsv } from '../../lambda/core/spend';

const rules = { campaigns: new Set(['demo', 'split']), currency: 'EUR' };
const problems = (text: string): string[] => {
  try {
    parseSpendCsv(text, rules);
  } catch (err) {
    if (err instanceof SpendFileError) return err.problems;
    throw err;
  }
  return [];
};

describe('spend CSV', () => {
  it('reads rows with or without subs, in any column order, quoted fields and CRLF included', () => {
    const rows = parseSpendCsv(
      'campaign,day,sub1,sub2,sub3,amount,currency\r\n' +
        'demo,2026-11-24,adset-7,ad-3,,12.50,EUR\r\n' +
        'demo,2026-11-24,adset-8,,,3,EUR\r\n' +
        '"split",2026-11-25,"a,b ""quoted""",,,0.000001,EUR\r\n',
      rules,
    );
    expect(rows).toEqual([
      { campaignId: 'demo', day: '2026-11-24', sub1: 'adset-7', sub2: 'ad-3', amount: '12.5', currency: 'EUR' },
      { campaignId: 'demo', day: '2026-11-24', sub1: 'adset-8', amount: '3', currency: 'EUR' },
      { campaignId: 'split', day: '2026-11-25', sub1: 'a,b "quoted"', amount: '0.000001', currency: 'EUR' },
    ]);
    expect(parseSpendCsv('amount,currency,day,campaign\n7,EUR,2026-01-31,demo\n', rules)).toEqual([{ campaignId: 'demo', day: '2026-01-31', amount: '7', currency: 'EUR' }]);
  });

  it('names the line and column of every problem, and accepts nothing from such a file', () => {
    const text = [
      'campaign,day,sub1,sub2,sub3,amount,currency',
      'demo,2026-11-24,adset-7,,,12.50,EUR',
      'nope,2026-11-24,,,,1,EUR',
      'demo,2026-02-30,,,,1,EUR',
      'demo,2026-11-24,,x,,1,EUR',
      'demo,2026-11-25,,,,-1,EUR',
      'demo,2026-11-25,a,,,1e3,EUR',
      'demo,2026-11-26,,,,1,USD',
      'demo,2026-11-26,,,,1,eur',
      'demo,2026-11-24,adset-7,,,2,EUR',
      'demo,2026-11-27,,,,1',
      'demo,2026-11-24,adset-7,ad-1,,2,EUR',
      'split,2026-11-24,,,,5,EUR',
      'split,2026-11-24,s,,,5,EUR',
    ].join('\n');
    expect(problems(text)).toEqual([
      'line 3, column campaign: "nope" is not a campaign of this tracker',
      'line 4, column day: "2026-02-30" is not a date (YYYY-MM-DD)',
      'line 5, column sub2: sub2 without sub1 (spend follows campaign > sub1 > sub2 > sub3)',
      'line 6, column amount: "-1" is negative',
      'line 7, column amount: "1e3" is not an amount (digits, optional "." and up to 6 decimals, e.g. 12.50)',
      'line 8, column currency: USD, but costs are in EUR (defaults.currency): convert the amount to EUR first',
      'line 9, column currency: "eur" is not a 3-letter currency code such as EUR',
      'line 10: the same campaign, day and subs as line 2',
      'line 11: 6 fields, the header has 7',
      'line 12: overlaps line 2 (one covers the other\'s subs): the spend would count twice',
      'line 14: overlaps line 13 (one covers the other\'s campaign): the spend would count twice',
    ]);
  });

  it('refuses a file without the columns it needs, or without rows', () => {
    expect(problems('')).toEqual(['the file is empty: the first line must name the columns campaign,day,sub1,sub2,sub3,amount,currency']);
    expect(problems('campaign,day,amount,cost\ndemo,2026-11-24,1,EUR\n')).toEqual([
      'line 1, column 4: "cost" is not a column (campaign,day,sub1,sub2,sub3,amount,currency; sub1..sub3 optional)',
      'line 1: the column "currency" is missing',
    ]);
    expect(problems('campaign,day,amount,currency\n')).toEqual(['the file has a header but no rows']);
    expect(problems('campaign,day,amount,currency\n"demo,2026-11-24,1,EUR\n')).toEqual(['line 2: a quoted field is not closed']);
    expect(problems('campaign,day,sub1,amount,currency\ndemo,2026-11-24,a\u001b[31m,1,EUR\n')).toEqual(['line 2, column sub1: contains a control character']);
  });
});
