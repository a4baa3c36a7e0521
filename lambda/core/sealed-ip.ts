/**
 * The visitor's full IP address for the conversion APIs, kept by crypto-shredding: a click that
 * carries a Meta or TikTok channel's click id stores its full address encrypted (AES-256-GCM)
 * with the data key of its UTC day, in the same single write as the click. Each day's key is a
 * small item of its own; keys are deleted once every click they sealed is older than 7 days
 * (readers also refuse to open an address older than 7 days), which makes every older address
 * unreadable without touching the clicks. Once the platform sends for a click are done, the send
 * path removes the sealed address from the click as well.
 *
 * Pure apart from node:crypto; the key items are behind the IpKeyStore port.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** How long a sealed address can be opened after its click. */
export const IP_READABLE_MS = 7 * 86_400_000;
/** A day's key lives until every click of that day is 7 days old: the start of the day + 8 days. */
export const IP_KEY_LIFETIME_MS = 8 * 86_400_000;
const VERSION = 'v1';
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The UTC day (`YYYY-MM-DD`) whose key seals an address recorded at `at`. */
export function keyDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** When a day's key must be gone (epoch ms). */
export function keyExpiry(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`) + IP_KEY_LIFETIME_MS;
}

const b64 = (buf: Buffer): string => buf.toString('base64url');

/**
 * `v1.<day>.<iv>.<ciphertext+tag>` (base64url). The click id is the additional authenticated
 * data, so a sealed address copied onto another click does not open.
 */
export function sealIp(ip: string, clickId: string, day: string, key: Buffer, iv: Buffer = randomBytes(12)): string {
  if (key.length !== 32) throw new RangeError('an IP key is 32 bytes (AES-256)');
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(clickId, 'utf8'));
  const data = Buffer.concat([cipher.update(ip, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${day}.${b64(iv)}.${b64(data)}`;
}

/** The day whose key sealed `sealed`, or undefined when it is not a sealed address. */
export function sealedDay(sealed: string): string | undefined {
  const [version, day] = sealed.split('.');
  return version === VERSION && day !== undefined && DAY.test(day) ? day : undefined;
}

/** The address, or undefined when the text is not ours, was altered, or belongs to another click. */
export function openIp(sealed: string, clickId: string, key: Buffer): string | undefined {
  const [version, day, ivText, dataText, extra] = sealed.split('.');
  if (version !== VERSION || day === undefined || ivText === undefined || dataText === undefined || extra !== undefined) return undefined;
  const iv = Buffer.from(ivText, 'base64url');
  const data = Buffer.from(dataText, 'base64url');
  if (iv.length !== 12 || data.length < 17) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(clickId, 'utf8'));
    decipher.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** Whether a click made at `clickCreatedAt` may still have its address opened at `now`. */
export function ipReadable(clickCreatedAt: string, now: Date): boolean {
  const made = Date.parse(clickCreatedAt);
  return Number.isFinite(made) && now.getTime() - made < IP_READABLE_MS;
}

/** The day keys, one small item each (DynamoDB in AWS and locally). */
export interface IpKeyStore {
  getKey(day: string): Promise<Buffer | undefined>;
  /** Creates the key unless one exists for the day; returns the day's key either way. */
  createKey(day: string, key: Buffer, expiresAt: number): Promise<Buffer>;
  listKeyDays(): Promise<string[]>;
  deleteKey(day: string): Promise<void>;
}

/**
 * The keys as the functions use them: each day's key read once per process (a click function
 * reads today's key once a day; a missing one is created, normally by the schedule ahead of time),
 * and never one that must be gone.
 */
export class IpKeyRing {
  private readonly cache = new Map<string, Promise<Buffer | undefined>>();

  constructor(
    private readonly store: IpKeyStore,
    private readonly random: (n: number) => Buffer = randomBytes,
  ) {}

  /** The key of `day`, or undefined when it is gone (or must be). `create` makes a missing one. */
  key(day: string, now: Date, create = false): Promise<Buffer | undefined> {
    if (keyExpiry(day) <= now.getTime()) return Promise.resolve(undefined);
    const hit = this.cache.get(day);
    if (hit) return hit;
    const loading = (async () => {
      const found = await this.store.getKey(day);
      if (found || !create) return found;
      return this.store.createKey(day, this.random(32), Math.floor(keyExpiry(day) / 1000));
    })();
    this.cache.set(day, loading);
    // Only keys found are kept: a failed or empty read is asked again next time.
    loading.then((k) => (k ? undefined : this.cache.delete(day)), () => this.cache.delete(day));
    return loading;
  }

  /** Seals `ip` for a click made at `at` (creating the day's key if needed). */
  async seal(ip: string, clickId: string, at: Date): Promise<string | undefined> {
    const day = keyDay(at);
    const key = await this.key(day, at, true);
    return key ? sealIp(ip, clickId, day, key) : undefined;
  }

  /**
   * The address of a click made at `clickCreatedAt`, or why not: older than 7 days, its key is
   * gone, or the text does not open.
   */
  async open(sealed: string, clickId: string, clickCreatedAt: string, now: Date): Promise<{ ip: string } | { unavailable: string }> {
    if (!ipReadable(clickCreatedAt, now)) return { unavailable: 'the click is older than 7 days: its address is no longer kept' };
    const day = sealedDay(sealed);
    if (!day) return { unavailable: 'the stored address is not readable' };
    const key = await this.key(day, now);
    if (!key) return { unavailable: `the address key of ${day} is deleted` };
    const ip = openIp(sealed, clickId, key);
    return ip === undefined ? { unavailable: 'the stored address does not open with its key' } : { ip };
  }
}

/**
 * The schedule's part: today's and tomorrow's keys exist (so no click has to create one), and
 * every key whose clicks are all older than 7 days is deleted.
 */
export async function maintainIpKeys(store: IpKeyStore, now: Date, random: (n: number) => Buffer = randomBytes): Promise<{ created: string[]; deleted: string[] }> {
  const created: string[] = [];
  for (const at of [now, new Date(now.getTime() + 86_400_000)]) {
    const day = keyDay(at);
    if (!(await store.getKey(day))) {
      await store.createKey(day, random(32), Math.floor(keyExpiry(day) / 1000));
      created.push(day);
    }
  }
  const deleted: string[] = [];
  for (const day of await store.listKeyDays()) {
    if (keyExpiry(day) <= now.getTime()) {
      await store.deleteKey(day);
      deleted.push(day);
    }
  }
  return { created, deleted };
}
