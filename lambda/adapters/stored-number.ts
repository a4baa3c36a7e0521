/**
 * DynamoDB numbers as their exact text. `unmarshall` would make them JS floats, which round
 * amounts such as 90071992547409.93; read with `{ wrapNumbers: wrapStoredNumber }` and turn
 * into decimals with `decimalOf`.
 */
import { decimalFromNumberText } from '../core/decimal';

/** A DynamoDB number as read: its exact text. */
export class StoredNumber {
  constructor(readonly text: string) {}
}

/** For `unmarshall(item, { wrapNumbers: wrapStoredNumber })`. */
export const wrapStoredNumber = (text: string): StoredNumber => new StoredNumber(text);

/** A number attribute read with wrapStoredNumber, as a canonical decimal ('0' when absent). */
export function decimalOf(value: unknown): string {
  if (value === undefined || value === null) return '0';
  if (value instanceof StoredNumber) return decimalFromNumberText(value.text);
  if (typeof value === 'string') return decimalFromNumberText(value);
  throw new Error(`not a stored number: ${JSON.stringify(value)}`);
}
