import type { ConversionTypeInput } from './schema';

/**
 * Every value Digistore24 puts into its S2S postback macros, plus the order-form pixel's
 * InitiateCheckout, ready to spread into `conversionTypes`.
 *
 * - `{transaction_type}`: payment, refund, chargeback — these carry the money: payments add
 *   revenue (and are forwarded to the traffic channel), refunds and chargebacks subtract it;
 * - `{order_type}`: initial_sale, upsell; `{billing_type}`: single_payment, subscription,
 *   installment; `{billing_status}`: paying, completed, aborted — counted, without revenue.
 *
 * The values come from the hosted tracker's Digistore24 guide. `initial_sale`/`upsell` for
 * `{order_type}` is that guide's (and so this tracker's) convention: Digistore24's own IPN field
 * `order_type` has other values (regular, upgrade, phone_order, cart, vat_change).
 *
 * One sale can arrive through several postbacks (one per macro) and through the IPN; if every
 * family added revenue, a 47 EUR sale would show 94. So only the {transaction_type} family
 * carries revenue. If you track another family alone, give its types `revenue: 'add'`.
 * InitiateCheckout is tracked but is not a sale.
 */
export const digistore24ConversionTypes: readonly ConversionTypeInput[] = [
  { name: 'payment', countsAsConversion: true, revenue: 'add', forwardToChannel: true },
  { name: 'refund', countsAsConversion: true, revenue: 'subtract', forwardToChannel: false },
  { name: 'chargeback', countsAsConversion: true, revenue: 'subtract', forwardToChannel: false },
  { name: 'initial_sale', countsAsConversion: true, revenue: 'ignore', forwardToChannel: false },
  { name: 'upsell', countsAsConversion: true, revenue: 'ignore', forwardToChannel: false },
  { name: 'single_payment', countsAsConversion: true, revenue: 'ignore', forwardToChannel: false },
  { name: 'subscription', countsAsConversion: true, revenue: 'ignore', forwardToChannel: false },
  { name: 'installment', countsAsConversion: true, revenue: 'ignore', forwardToChannel: false },
  { name: 'paying', countsAsConversion: true, revenue: 'ignore', forwardToChannel: false },
  { name: 'completed', countsAsConversion: true, revenue: 'ignore', forwardToChannel: false },
  { name: 'aborted', countsAsConversion: true, revenue: 'ignore', forwardToChannel: false },
  { name: 'InitiateCheckout', countsAsConversion: false, revenue: 'ignore', forwardToChannel: false },
];

/**
 * The extra types the Digistore24 IPN maps its subscription events to (see
 * `digistore24.ipn.events`): tracked, not counted as sales, no revenue — so a vendor can
 * report churn (`rebill_cancelled`, `last_paid_day`) and failed payments.
 */
export const digistore24IpnConversionTypes: readonly ConversionTypeInput[] = [
  { name: 'payment_missed', countsAsConversion: false, revenue: 'ignore', forwardToChannel: false },
  { name: 'payment_denial', countsAsConversion: false, revenue: 'ignore', forwardToChannel: false },
  { name: 'rebill_cancelled', countsAsConversion: false, revenue: 'ignore', forwardToChannel: false },
  { name: 'rebill_resumed', countsAsConversion: false, revenue: 'ignore', forwardToChannel: false },
  { name: 'last_paid_day', countsAsConversion: false, revenue: 'ignore', forwardToChannel: false },
];
