import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, parseConfig, type TrackerConfig } from './schema';

/** The config shipped in the repo. */
export const DEFAULT_CONFIG_PATH = resolve(__dirname, 'tracker.config.ts');

/** Path of the config in use: `TRACKER_CONFIG` if set, else config/tracker.config.ts. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.TRACKER_CONFIG;
  if (chosen === undefined || chosen === '') return DEFAULT_CONFIG_PATH;
  return isAbsolute(chosen) ? chosen : resolve(process.cwd(), chosen);
}

/**
 * Loads and validates a config file: `.json`, or a `.ts`/`.js` module whose default export is
 * the config. `.ts` files need a TypeScript-aware runtime (tsx, jest); the Lambda functions
 * receive the config as JSON written at synth time.
 */
export function loadConfig(path: string = configPath()): TrackerConfig {
  let raw: unknown;
  try {
    if (path.endsWith('.json')) {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod: unknown = require(path);
      raw = mod !== null && typeof mod === 'object' && 'default' in mod ? mod.default : mod;
    }
  } catch (err) {
    throw new ConfigError(path, [`cannot read the config: ${(err as Error).message}`]);
  }
  return parseConfig(raw, path);
}
