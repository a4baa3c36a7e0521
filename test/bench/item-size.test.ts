/**
 * The item size the cost model bills writes by: DynamoDB's published rules, checked on values
 * worked out by hand, and the write units a size costs (a click item past 1 KB costs two).
 */
import { itemBytes, numberBytes, writeUnits } from '../../bench/item-size';

describe('DynamoDB item size', () => {
  it('counts names and values by the published rules', () => {
    // "clickId" 7 + 30; "n" 1 + (3 significant digits -> 2 bytes + 1); "bot" 3 + 1
    expect(itemBytes({ clickId: { S: 'A'.repeat(30) }, n: { N: '123' }, bot: { BOOL: true } })).toBe(7 + 30 + 1 + 3 + 3 + 1);
    // UTF-8 bytes, not characters: "ü" is two.
    expect(itemBytes({ s: { S: 'ü' } })).toBe(1 + 2);
    // A map: 3 bytes, plus per element 1 byte, its name and its value.
    expect(itemBytes({ subs: { M: { sub1: { S: 'ad-7' }, sub2: { S: 'x' } } } })).toBe(4 + 3 + (1 + 4 + 4) + (1 + 4 + 1));
    expect(itemBytes({ l: { L: [{ S: 'ab' }, { NULL: true }] } })).toBe(1 + 3 + (1 + 2) + (1 + 1));
  });

  it('trims leading and trailing zeros of numbers before counting digits', () => {
    expect(numberBytes('1795600000')).toBe(numberBytes('17956'));
    expect(numberBytes('1795600000')).toBe(4); // 5 digits -> 3 bytes + 1
    expect(numberBytes('0.05')).toBe(2);
    expect(numberBytes('-47.5')).toBe(3);
    expect(numberBytes('0')).toBe(2);
  });

  it('bills one write unit per started KB', () => {
    expect(writeUnits(200)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
  });
});
