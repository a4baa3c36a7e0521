import { isIPv4, isIPv6 } from 'node:net';
import type { IpStorage } from '../../config/schema';

/**
 * Applies the config's IP policy: `full` keeps the address, `truncated` keeps the network
 * only (IPv4 /24, IPv6 /48, the usual anonymisation), `none` keeps nothing.
 */
export function storableIp(ip: string | undefined, policy: IpStorage): string | undefined {
  if (ip === undefined || policy === 'none') return undefined;
  if (isIPv4(ip)) {
    if (policy === 'full') return ip;
    const parts = ip.split('.');
    return `${parts[0]}.${parts[1]}.${parts[2]}.0`;
  }
  if (isIPv6(ip)) {
    if (policy === 'full') return ip;
    return `${expandIPv6(ip).slice(0, 3).join(':')}::`;
  }
  return undefined;
}

function expandIPv6(ip: string): string[] {
  const [head = '', tail] = ip.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headParts.length - tailParts.length;
  return [...headParts, ...Array<string>(Math.max(missing, 0)).fill('0'), ...tailParts].map((p) =>
    p.includes('.') ? p : p.toLowerCase().replace(/^0+(?=.)/, ''),
  );
}
