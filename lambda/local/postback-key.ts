/**
 * The local run's generated postback key (`keys: [{ generated: true }]`): made once with 256
 * random bits, kept in the data directory readable by its owner only (mode 0600), and reused
 * after every restart, so the URLs pasted once keep working.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const POSTBACK_KEY_FILE = 'postback-key';

const KEY = /^[A-Za-z0-9_-]{32,256}$/;

export function localPostbackKeyPath(dataDir: string): string {
  return join(dataDir, POSTBACK_KEY_FILE);
}

/** Reads the key; undefined when none was made yet. A file that holds no key is an error that says what to do. */
export function readLocalPostbackKey(dataDir: string): string | undefined {
  const path = localPostbackKeyPath(dataDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const key = text.trim();
  if (!KEY.test(key)) throw new Error(`${path} does not hold a postback key (32+ URL-safe characters); delete it and a new one is made`);
  // Readable by its owner only, even if it was copied or restored with looser permissions.
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return key;
}

/** The key, made now if there is none yet (safe when two processes race: only one file wins). */
export function ensureLocalPostbackKey(dataDir: string): { key: string; path: string; created: boolean } {
  const path = localPostbackKeyPath(dataDir);
  const existing = readLocalPostbackKey(dataDir);
  if (existing !== undefined) return { key: existing, path, created: false };
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  try {
    writeFileSync(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const raced = readLocalPostbackKey(dataDir);
    if (raced === undefined) throw err;
    return { key: raced, path, created: false };
  }
  chmodSync(path, 0o600);
  return { key, path, created: true };
}
