import { InvalidInput, parsePostback } from '../../lambda/core/postback-params';
import type { RawRequest } from '../../lambda/core/model';

const get = (query: string): RawRequest => ({ method: 'GET', path: '/postback', query, body: '', headers: {} });
const post = (body: string, contentType?: string): RawRequest => ({
  method: 'POST',
  path: '/postback',
  query: '',
  body,
  headers: contentType ? { 'content-type': contentType } : {},
});

function refusal(request: RawRequest): { parameter: string; message: string } {
  try {
    parsePostback(request);
  } catch (err) {
    if (err instanceof InvalidInput) return { parameter: err.parameter, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('parsePostback', () => {
  it('reads the Digistore24 postback with its aliases', () => {
    expect(parsePostback(get('cid=01JDZ8Q3V6W0K1X2Y3Z4A5B6C7&type=payment&amount=47.00&currency=eur&transaction_id=98765431'))).toEqual({
      clickId: '01JDZ8Q3V6W0K1X2Y3Z4A5B6C7',
      type: 'payment',
      sum: '47',
      currency: 'EUR',
      txid: '98765431',
      isTest: false,
    });
    expect(parsePostback(get('clickid=A&type=refund&payout=-47.00&order_id=O-1&status=approved'))).toMatchObject({ sum: '-47', txid: 'O-1', status: 'approved' });
  });

  it('reads form-encoded and JSON bodies, and query plus body together', () => {
    expect(parsePostback(post('clickid=A&type=payment&sum=10', 'application/x-www-form-urlencoded'))).toMatchObject({ clickId: 'A', sum: '10' });
    expect(parsePostback(post('{"clickid":"A","type":"payment","sum":12.5}', 'application/json'))).toMatchObject({ clickId: 'A', sum: '12.5' });
    expect(parsePostback({ ...post('sum=3'), query: 'clickid=A&type=payment' })).toMatchObject({ clickId: 'A', sum: '3' });
  });

  it.each([
    ['clickid={cid}&type=payment', 'clickid is the unreplaced placeholder {cid}'],
    ['format=img&clickid=__cid__&type=InitiateCheckout', 'clickid is the unreplaced placeholder __cid__'],
    ['clickid=A&type={transaction_type}', 'type is the unreplaced placeholder {transaction_type}'],
    ['clickid=A&type=payment&is_test=1', 'is_test=1'],
    ['clickid=A&type=payment&is_test=true', 'is_test=true'],
  ])('%s is a test postback', (query, reason) => {
    expect(parsePostback(get(query))).toMatchObject({ isTest: true, testReason: reason });
  });

  it('treats is_test=0 as real and keeps placeholders in optional fields out of the record', () => {
    expect(parsePostback(get('clickid=A&type=payment&is_test=0&sum={amount}&txid={transaction_id}'))).toEqual({
      clickId: 'A',
      type: 'payment',
      sum: '0',
      isTest: false,
    });
  });

  it('has no click id for an organic sale', () => {
    expect(parsePostback(get('type=payment&sum=5')).clickId).toBeUndefined();
    expect(parsePostback(get('clickid=&type=payment&sum=5')).clickId).toBeUndefined();
  });

  it.each([
    ['clickid=a%3Cscript%3E&type=payment', 'clickid', 'has characters other than'],
    [`clickid=${'a'.repeat(65)}&type=payment`, 'clickid', 'longer than 64'],
    ['clickid=A&type=payment&sum=abc', 'sum', 'is not a decimal number'],
    ['clickid=A&type=payment&sum=1e5', 'sum', 'is not a decimal number'],
    ['clickid=A&type=payment&currency=EURO', 'currency', 'is not an ISO 4217 currency code'],
    ['clickid=A&type=pay%00ment', 'type', 'has characters other than'],
    ['clickid=A', 'type', 'is missing'],
    ['clickid=A&type=payment&txid=a%20b', 'txid', 'has characters other than'],
    [`clickid=A&type=payment&note=${'x'.repeat(1025)}`, 'note', 'at most 1024'],
    ['clickid=A&cid=B&type=payment', 'cid', 'conflicts with clickid'],
    ['clickid=A&clickid=B&type=payment', 'clickid', 'given twice'],
    ['clickid=A&type=payment&format=png', 'format', 'not supported'],
  ])('refuses %s (%s)', (query, parameter, problem) => {
    const r = refusal(get(query));
    expect(r.parameter).toBe(parameter);
    expect(r.message).toContain(problem);
  });

  it('refuses bad bodies', () => {
    expect(refusal(post('{"clickid":', 'application/json')).parameter).toBe('body');
    expect(refusal(post('[1,2]', 'application/json')).message).toContain('JSON object');
    expect(refusal(post('{"clickid":{"$gt":""},"type":"payment"}', 'application/json')).parameter).toBe('clickid');
    expect(refusal(post('x', 'multipart/form-data; boundary=x')).parameter).toBe('content-type');
    expect(refusal(post(`a=${'x'.repeat(20000)}`, 'application/x-www-form-urlencoded')).parameter).toBe('body');
  });

  it('takes only ISO 4217 currencies (in any case), or only the config allowlist when it has one', () => {
    expect(parsePostback(get('clickid=A&type=payment&currency=usd')).currency).toBe('USD');
    for (const made_up of ['XYZ', 'ABC', 'BTC', 'XTS', 'XXX', 'EU1', 'E%C3%9CR']) {
      const r = refusal(get(`clickid=A&type=payment&currency=${made_up}`));
      expect(r.parameter).toBe('currency');
      expect(r.message).toMatch(/is not an ISO 4217 currency code such as EUR$/);
    }
    const allowed = new Set(['EUR', 'USD']);
    expect(parsePostback(get('clickid=A&type=payment&currency=usd'), { currencies: allowed }).currency).toBe('USD');
    try {
      parsePostback(get('clickid=A&type=payment&currency=GBP'), { currencies: allowed });
      throw new Error('expected a refusal');
    } catch (err) {
      expect((err as InvalidInput).message).toBe('currency: "GBP" is not one of this tracker\'s currencies (EUR, USD)');
    }
  });

  it('never echoes raw input: quoted values and parameter names are cut, without controls or markup', () => {
    const script = refusal(get(`clickid=A&type=payment&sum=${encodeURIComponent('<script>alert(1)</script>')}`));
    expect(script.message).toBe('sum: "scriptalert(1)/script" is not a decimal number (examples: 47, 47.00, -47.00; at most 6 decimals)');
    const escape = refusal(get(`clickid=A&type=payment&currency=${encodeURIComponent('\u001b]0;pwned\u0007\u202e')}`));
    expect(escape.message).toBe('currency: "]0;pwned" is not an ISO 4217 currency code such as EUR');
    const long = refusal(get(`clickid=A&type=payment&sum=${'9'.repeat(500)}`));
    expect(long.message).toMatch(/^sum: "9{40}…" is not a decimal number/);
    // A parameter's name is chosen by the request too.
    const name = refusal(get(`${encodeURIComponent('<b>\u001b[2J')}=1&${encodeURIComponent('<b>\u001b[2J')}=2&type=payment`));
    expect(name.parameter).toBe('b[2J');
    expect(name.message).toBe('b[2J: was given twice with different values ("1" and "2")');
  });

  it('accepts the same value given as two aliases', () => {
    expect(parsePostback(get('clickid=A&cid=A&type=payment')).clickId).toBe('A');
  });
});
