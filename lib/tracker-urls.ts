/**
 * The URLs a user pastes into ad platforms and Digistore24, built from the tracking host for the
 * stack outputs. The text comes from lambda/core/urls.ts, which `npm start` and `npm run urls`
 * use too. The outputs never hold the postback key: they show KEY_PLACEHOLDER where it goes.
 */
import { digistore24Urls, KEY_PLACEHOLDER, type Digistore24Urls } from '../lambda/core/urls';

/** Click URL for a campaign; `<campaignId>` is a placeholder for an id from the config. */
export const clickUrlPattern = (host: string): string => `https://${host}/click/<campaignId>`;

/** The lander's call to action, GET /go: t.js adds `?clickid=` (or the lander fills it from its own URL); `&offer=<offerId>` picks an offer. */
export const landerClickUrl = (host: string): string => `https://${host}/go`;

/** The direct-tracking tag for a lander; `<campaignId>` is a placeholder for an id from the config. */
export const trackerScriptTag = (host: string): string => `<script src="https://${host}/t.js" data-campaign="<campaignId>" async></script>`;

/**
 * The Digistore24 URLs on `host`; `keyed`: postbacks are protected, so the S2S URLs show where
 * the key goes (`key=<see npm run urls>`).
 */
export const digistore24OutputUrls = (host: string, keyed: boolean): Digistore24Urls =>
  digistore24Urls(`https://${host}`, keyed ? { placeholder: KEY_PLACEHOLDER } : undefined);
