import type { Campaign, Lander, Offer, TrackerConfig, TrafficChannel } from '../../config/schema';
import { campaignCode } from './ids';

/** A lander of a campaign, with its cumulative weight and the pattern its pages match. */
export interface CompiledLander {
  lander: Lander;
  upTo: number;
  /** Matches the lander's pages (origin + path, macros as any path segment text): direct visits. */
  page: RegExp;
}

export interface CompiledCampaign {
  campaign: Campaign;
  channel: TrafficChannel;
  /** Offers with their cumulative weight, for a weighted pick with one random number. */
  offers: { offer: Offer; upTo: number }[];
  totalWeight: number;
  /** The campaign's landers (empty: the click goes straight to an offer). */
  landers: CompiledLander[];
  landerWeight: number;
}

/**
 * The config prepared for the hot path: campaign lookups are one Map.get and the offer pick
 * one random number. Built once per process.
 */
export interface CompiledConfig {
  config: TrackerConfig;
  campaigns: Map<string, CompiledCampaign>;
  /** Campaigns by the 4-character code inside their click ids (the schema refuses collisions). */
  byCode: Map<string, CompiledCampaign>;
  /** Origins allowed to read the JSON click from a browser: every lander's, plus corsOrigins. */
  corsOrigins: Set<string>;
}

const MACRO_TEXT = /\{[a-z0-9_]+\}/gi;
const PLACEHOLDER = 'cvmacro0placeholder';

/** Origin + path of a URL template, for matching the page a visitor is on. */
export function landerPagePattern(template: string): RegExp {
  const url = new URL(template.replace(MACRO_TEXT, PLACEHOLDER));
  const path = url.pathname.replace(/\/+$/, '');
  const escaped = `${url.origin}${path}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').split(PLACEHOLDER).join('[^/]*');
  return new RegExp(`^${escaped}/?$`);
}

/** The origin of a lander URL template (macros may only be in its path or query). */
export function landerOrigin(template: string): string {
  return new URL(template.replace(MACRO_TEXT, PLACEHOLDER)).origin;
}

export function compileConfig(config: TrackerConfig): CompiledConfig {
  const channels = new Map(config.trafficChannels.map((c) => [c.id, c]));
  const offers = new Map(config.offers.map((o) => [o.id, o]));
  const landers = new Map((config.landers ?? []).map((l) => [l.id, l]));
  const campaigns = new Map<string, CompiledCampaign>();
  const byCode = new Map<string, CompiledCampaign>();
  for (const campaign of config.campaigns) {
    const channel = channels.get(campaign.trafficChannel);
    if (!channel) throw new Error(`campaign ${campaign.id}: unknown traffic channel ${campaign.trafficChannel}`);
    let upTo = 0;
    const weighted = campaign.offers.map((ref) => {
      const offer = offers.get(ref.offer);
      if (!offer) throw new Error(`campaign ${campaign.id}: unknown offer ${ref.offer}`);
      upTo += ref.weight;
      return { offer, upTo };
    });
    let landerUpTo = 0;
    const compiledLanders = (campaign.landers ?? []).map((ref) => {
      const lander = landers.get(ref.lander);
      if (!lander) throw new Error(`campaign ${campaign.id}: unknown lander ${ref.lander}`);
      landerUpTo += ref.weight;
      return { lander, upTo: landerUpTo, page: landerPagePattern(lander.url) };
    });
    const compiled: CompiledCampaign = { campaign, channel, offers: weighted, totalWeight: upTo, landers: compiledLanders, landerWeight: landerUpTo };
    campaigns.set(campaign.id, compiled);
    byCode.set(campaignCode(campaign.id), compiled);
  }
  const corsOrigins = new Set([...(config.landers ?? []).map((l) => landerOrigin(l.url)), ...(config.corsOrigins ?? [])]);
  return { config, campaigns, byCode, corsOrigins };
}

/** Picks by weight from cumulative weights; `random` is in [0, 1). */
function pick<T extends { upTo: number }>(entries: readonly T[], total: number, random: number): T | undefined {
  const target = random * total;
  for (const entry of entries) if (target < entry.upTo) return entry;
  return entries[entries.length - 1];
}

/** Picks an offer by weight; `random` is in [0, 1). */
export function pickOffer(compiled: CompiledCampaign, random: number): Offer {
  const entry = pick(compiled.offers, compiled.totalWeight, random);
  if (!entry) throw new Error(`campaign ${compiled.campaign.id} has no offers`);
  return entry.offer;
}

/** Picks a lander by weight; undefined for a campaign without landers. */
export function pickLander(compiled: CompiledCampaign, random: number): Lander | undefined {
  return pick(compiled.landers, compiled.landerWeight, random)?.lander;
}

/** The campaign's lander whose pages `page` is one of (origin + path), if any. */
export function landerOfPage(compiled: CompiledCampaign, page: string | undefined): Lander | undefined {
  if (page === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(page);
  } catch {
    return undefined;
  }
  const key = `${url.origin}${url.pathname}`;
  return compiled.landers.find((l) => l.page.test(key))?.lander;
}

/** The offer `offerId` names when it is one of the campaign's offers. */
export function campaignOffer(compiled: CompiledCampaign, offerId: string | undefined | null): Offer | undefined {
  if (offerId === undefined || offerId === null) return undefined;
  return compiled.offers.find((o) => o.offer.id === offerId)?.offer;
}
