/**
 * Currencies a conversion may carry: the active ISO 4217 codes of real money (fund units,
 * precious metals, SDR and the test/no-currency codes XTS and XXX are left out), or, when the
 * config sets `defaults.currencies`, only those. Anything else is refused, so no stored value,
 * report column or metric dimension can take a currency an attacker made up.
 *
 * One validator for every path that reads a currency (postback, pixel, IPN).
 */
export const ISO_4217_CURRENCIES: ReadonlySet<string> = new Set(
  (
    'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD ' +
    'CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD ' +
    'GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT ' +
    'LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR ' +
    'NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD ' +
    'SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF ' +
    'XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL'
  ).split(' '),
);

/**
 * The currency as it is stored (upper case), or undefined when it is not accepted: not an ISO
 * 4217 code of real money, or not in `allowed` (the config's `defaults.currencies`) when set.
 */
export function acceptedCurrency(text: string | undefined, allowed?: ReadonlySet<string>): string | undefined {
  if (text === undefined) return undefined;
  const code = text.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(code) || !ISO_4217_CURRENCIES.has(code)) return undefined;
  if (allowed !== undefined && !allowed.has(code)) return undefined;
  return code;
}
