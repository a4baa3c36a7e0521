import type { ConversionTypeInput } from './schema';

/**
 * Every value Digistore24 puts into its S2S postback macros, plus the order-form pixel's
 * InitiateCheckout, ready to spread into `conversionTypes`.
 *
 * - `{transaction_type}`: payment, refund, chargeback
 * - `{order_type}`: initial_sale, upsell
 * - `{billing_type}`: single_payment, subscription, installment
 * - `{billing_status}`: paying, completed, aborted
 *
 * Refunds and chargebacks subtract revenue. InitiateCheckout is tracked but is not a sale.
 */
export const digistore24ConversionTypes: readonly ConversionTypeInput[] = [
  { name: 'payment', countsAsConversion: true, revenue: 'add', forwardToChannel: true },
  { name: 'refund', countsAsConversion: true, revenue: 'subtract', forwardToChannel: false },
  { name: 'chargeback', countsAsConversion: true, revenue: 'subtract', forwardToChannel: false },
  { name: 'initial_sale', countsAsConversion: true, revenue: 'add', forwardToChannel: true },
  { name: 'upsell', countsAsConversion: true, revenue: 'add', forwardToChannel: true },
  { name: 'single_payment', countsAsConversion: true, revenue: 'add', forwardToChannel: true },
  { name: 'subscription', countsAsConversion: true, revenue: 'add', forwardToChannel: true },
  { name: 'installment', countsAsConversion: true, revenue: 'add', forwardToChannel: true },
  { name: 'paying', countsAsConversion: true, revenue: 'add', forwardToChannel: false },
  { name: 'completed', countsAsConversion: true, revenue: 'add', forwardToChannel: false },
  { name: 'aborted', countsAsConversion: true, revenue: 'ignore', forwardToChannel: false },
  { name: 'InitiateCheckout', countsAsConversion: false, revenue: 'ignore', forwardToChannel: false },
];

/**
 * The extra types the Digistore24 IPN maps its subscription events to (see
 * `digistore24.ipn.events`): tracked, not counted as sales, no revenue.
 */
export const digistore24IpnConversionTypes: readonly ConversionTypeInput[] = [
  { name: 'payment_missed', countsAsConversion: false, revenue: 'ignore', forwardToChannel: false },
  { name: 'rebill_cancelled', countsAsConversion: false, revenue: 'ignore', forwardToChannel: false },
  { name: 'rebill_resumed', countsAsConversion: false, revenue: 'ignore', forwardToChannel: false },
];
