import type { Campaign, Offer, TrackerConfig, TrafficChannel } from '../../config/schema';

export interface CompiledCampaign {
  campaign: Campaign;
  channel: TrafficChannel;
  /** Offers with their cumulative weight, for a weighted pick with one random number. */
  offers: { offer: Offer; upTo: number }[];
  totalWeight: number;
}

/**
 * The config prepared for the hot path: campaign lookups are one Map.get and the offer pick
 * one random number. Built once per process.
 */
export interface CompiledConfig {
  config: TrackerConfig;
  campaigns: Map<string, CompiledCampaign>;
}

export function compileConfig(config: TrackerConfig): CompiledConfig {
  const channels = new Map(config.trafficChannels.map((c) => [c.id, c]));
  const offers = new Map(config.offers.map((o) => [o.id, o]));
  const campaigns = new Map<string, CompiledCampaign>();
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
    campaigns.set(campaign.id, { campaign, channel, offers: weighted, totalWeight: upTo });
  }
  return { config, campaigns };
}

/** Picks an offer by weight; `random` is in [0, 1). */
export function pickOffer(compiled: CompiledCampaign, random: number): Offer {
  const target = random * compiled.totalWeight;
  for (const entry of compiled.offers) if (target < entry.upTo) return entry.offer;
  const last = compiled.offers[compiled.offers.length - 1];
  if (!last) throw new Error(`campaign ${compiled.campaign.id} has no offers`);
  return last.offer;
}
