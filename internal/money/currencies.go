package money

import (
	"cmp"
	"slices"
)

// Currency is an upper-case ISO 4217 alphabetic code such as "MAD".
//
// A Currency is only a name: any string converts to one. Whether sakk knows
// it is decided by the table below (Lookup, Exponent); every parsing and
// arithmetic function of this package refuses a currency the table lacks,
// with ErrCurrency.
type Currency string

// Info describes one active ISO 4217 currency.
//
// Symbol is for display next to an amount, never for identifying a
// currency: several currencies share "$", "£", "kr" or "Rs". Where the
// reader may not know which one is meant, show the code as well.
type Info struct {
	Code     Currency
	Name     string // English name as ISO 4217 gives it, e.g. "Moroccan Dirham", "Yen"
	Exponent int    // number of minor-unit digits: 0, 2, 3 (4 for CLF, UYW)
	Symbol   string // sign commonly written in the issuing country, or the code itself when there is none
}

// Exponent returns the number of digits after the decimal point in c's
// minor unit: 2 for MAD (100 santimat to the dirham), 3 for KWD, 0 for JPY.
// It returns -1 when c is not an active currency of the table, so that a
// caller which forgot to validate c gets a value no real currency has
// rather than a plausible-looking 0 or 2. Lookup tells the two cases apart
// explicitly.
func (c Currency) Exponent() int {
	info, ok := Lookup(string(c))
	if !ok {
		return -1
	}
	return info.Exponent
}

// Lookup returns the table's entry for code. Matching is exact: "mad" and
// " MAD" are not found, because a code is an identifier that is stored and
// compared as given, and silently normalising it at one place would let two
// spellings of the same currency meet at another.
func Lookup(code string) (Info, bool) {
	i, ok := slices.BinarySearchFunc(table, Currency(code), func(in Info, c Currency) int {
		return cmp.Compare(in.Code, c)
	})
	if !ok {
		return Info{}, false
	}
	return table[i], true
}

// Currencies returns every currency of the table, sorted by code. The slice
// is a copy: callers may sort or trim it without affecting Lookup.
func Currencies() []Info {
	return slices.Clone(table)
}

// table lists the active codes of ISO 4217 List One as published on
// 1 January 2026, with their minor units. It is sorted by code, which
// Lookup's binary search relies on (TestTable checks it), and it is never
// modified after compilation: Currencies hands out copies.
//
// Left out on purpose, because List One gives them no minor unit ("N.A.")
// and so no amount of them can be written in minor units: the precious
// metals XAU, XAG, XPT, XPD; the bond-market units XBA, XBB, XBC, XBD; XDR
// (IMF special drawing right); XSU (Sucre); XUA (ADB unit of account); and
// the non-currencies XTS (testing) and XXX (no currency).
//
// Withdrawn codes are gone too, so that no new payment is created in a
// currency that can no longer be paid in: among the recent ones ANG
// (replaced by XCG on 31 March 2025), BGN (Bulgaria adopted the euro on
// 1 January 2026), CUC, HRK, SLL (replaced by SLE), VEF, ZWL (replaced by
// ZWG), MRO and STD.
//
// When ISO publishes an amendment, edit this literal by hand and update the
// assertions in TestTable; a changed exponent changes the meaning of every
// stored amount in that currency, so it needs a data migration too.
var table = []Info{
	{"AED", "UAE Dirham", 2, "د.إ"},
	{"AFN", "Afghani", 2, "؋"},
	{"ALL", "Lek", 2, "L"},
	{"AMD", "Armenian Dram", 2, "֏"},
	{"AOA", "Kwanza", 2, "Kz"},
	{"ARS", "Argentine Peso", 2, "$"},
	{"AUD", "Australian Dollar", 2, "$"},
	{"AWG", "Aruban Florin", 2, "ƒ"},
	{"AZN", "Azerbaijan Manat", 2, "₼"},
	{"BAM", "Convertible Mark", 2, "KM"},
	{"BBD", "Barbados Dollar", 2, "$"},
	{"BDT", "Taka", 2, "৳"},
	{"BHD", "Bahraini Dinar", 3, "د.ب"},
	{"BIF", "Burundi Franc", 0, "FBu"},
	{"BMD", "Bermudian Dollar", 2, "$"},
	{"BND", "Brunei Dollar", 2, "$"},
	{"BOB", "Boliviano", 2, "Bs"},
	{"BOV", "Mvdol", 2, "BOV"},
	{"BRL", "Brazilian Real", 2, "R$"},
	{"BSD", "Bahamian Dollar", 2, "$"},
	{"BTN", "Ngultrum", 2, "Nu."},
	{"BWP", "Pula", 2, "P"},
	{"BYN", "Belarusian Ruble", 2, "Br"},
	{"BZD", "Belize Dollar", 2, "$"},
	{"CAD", "Canadian Dollar", 2, "$"},
	{"CDF", "Congolese Franc", 2, "FC"},
	{"CHE", "WIR Euro", 2, "CHE"},
	{"CHF", "Swiss Franc", 2, "CHF"},
	{"CHW", "WIR Franc", 2, "CHW"},
	{"CLF", "Unidad de Fomento", 4, "UF"},
	{"CLP", "Chilean Peso", 0, "$"},
	{"CNY", "Yuan Renminbi", 2, "¥"},
	{"COP", "Colombian Peso", 2, "$"},
	{"COU", "Unidad de Valor Real", 2, "COU"},
	{"CRC", "Costa Rican Colon", 2, "₡"},
	{"CUP", "Cuban Peso", 2, "$"},
	{"CVE", "Cabo Verde Escudo", 2, "CVE"},
	{"CZK", "Czech Koruna", 2, "Kč"},
	{"DJF", "Djibouti Franc", 0, "Fdj"},
	{"DKK", "Danish Krone", 2, "kr."},
	{"DOP", "Dominican Peso", 2, "RD$"},
	{"DZD", "Algerian Dinar", 2, "د.ج"},
	{"EGP", "Egyptian Pound", 2, "ج.م"},
	{"ERN", "Nakfa", 2, "Nfk"},
	{"ETB", "Ethiopian Birr", 2, "Br"},
	{"EUR", "Euro", 2, "€"},
	{"FJD", "Fiji Dollar", 2, "$"},
	{"FKP", "Falkland Islands Pound", 2, "£"},
	{"GBP", "Pound Sterling", 2, "£"},
	{"GEL", "Lari", 2, "₾"},
	{"GHS", "Ghana Cedi", 2, "GH₵"},
	{"GIP", "Gibraltar Pound", 2, "£"},
	{"GMD", "Dalasi", 2, "D"},
	{"GNF", "Guinean Franc", 0, "FG"},
	{"GTQ", "Quetzal", 2, "Q"},
	{"GYD", "Guyana Dollar", 2, "$"},
	{"HKD", "Hong Kong Dollar", 2, "HK$"},
	{"HNL", "Lempira", 2, "L"},
	{"HTG", "Gourde", 2, "G"},
	{"HUF", "Forint", 2, "Ft"},
	{"IDR", "Rupiah", 2, "Rp"},
	{"ILS", "New Israeli Sheqel", 2, "₪"},
	{"INR", "Indian Rupee", 2, "₹"},
	{"IQD", "Iraqi Dinar", 3, "ع.د"},
	{"IRR", "Iranian Rial", 2, "﷼"},
	{"ISK", "Iceland Krona", 0, "kr"},
	{"JMD", "Jamaican Dollar", 2, "$"},
	{"JOD", "Jordanian Dinar", 3, "د.ا"},
	{"JPY", "Yen", 0, "¥"},
	{"KES", "Kenyan Shilling", 2, "KSh"},
	{"KGS", "Som", 2, "сом"},
	{"KHR", "Riel", 2, "៛"},
	{"KMF", "Comorian Franc", 0, "CF"},
	{"KPW", "North Korean Won", 2, "₩"},
	{"KRW", "Won", 0, "₩"},
	{"KWD", "Kuwaiti Dinar", 3, "د.ك"},
	{"KYD", "Cayman Islands Dollar", 2, "$"},
	{"KZT", "Tenge", 2, "₸"},
	{"LAK", "Lao Kip", 2, "₭"},
	{"LBP", "Lebanese Pound", 2, "ل.ل"},
	{"LKR", "Sri Lanka Rupee", 2, "Rs"},
	{"LRD", "Liberian Dollar", 2, "$"},
	{"LSL", "Loti", 2, "L"},
	{"LYD", "Libyan Dinar", 3, "ل.د"},
	{"MAD", "Moroccan Dirham", 2, "د.م."},
	{"MDL", "Moldovan Leu", 2, "L"},
	{"MGA", "Malagasy Ariary", 2, "Ar"},
	{"MKD", "Denar", 2, "ден"},
	{"MMK", "Kyat", 2, "K"},
	{"MNT", "Tugrik", 2, "₮"},
	{"MOP", "Pataca", 2, "MOP$"},
	{"MRU", "Ouguiya", 2, "UM"},
	{"MUR", "Mauritius Rupee", 2, "Rs"},
	{"MVR", "Rufiyaa", 2, "Rf"},
	{"MWK", "Malawi Kwacha", 2, "MK"},
	{"MXN", "Mexican Peso", 2, "$"},
	{"MXV", "Mexican Unidad de Inversion (UDI)", 2, "MXV"},
	{"MYR", "Malaysian Ringgit", 2, "RM"},
	{"MZN", "Mozambique Metical", 2, "MT"},
	{"NAD", "Namibia Dollar", 2, "$"},
	{"NGN", "Naira", 2, "₦"},
	{"NIO", "Cordoba Oro", 2, "C$"},
	{"NOK", "Norwegian Krone", 2, "kr"},
	{"NPR", "Nepalese Rupee", 2, "Rs"},
	{"NZD", "New Zealand Dollar", 2, "$"},
	{"OMR", "Rial Omani", 3, "ر.ع."},
	{"PAB", "Balboa", 2, "B/."},
	{"PEN", "Sol", 2, "S/"},
	{"PGK", "Kina", 2, "K"},
	{"PHP", "Philippine Peso", 2, "₱"},
	{"PKR", "Pakistan Rupee", 2, "Rs"},
	{"PLN", "Zloty", 2, "zł"},
	{"PYG", "Guarani", 0, "₲"},
	{"QAR", "Qatari Rial", 2, "ر.ق"},
	{"RON", "Romanian Leu", 2, "lei"},
	{"RSD", "Serbian Dinar", 2, "дин."},
	{"RUB", "Russian Ruble", 2, "₽"},
	{"RWF", "Rwanda Franc", 0, "FRw"},
	{"SAR", "Saudi Riyal", 2, "ر.س"},
	{"SBD", "Solomon Islands Dollar", 2, "$"},
	{"SCR", "Seychelles Rupee", 2, "Rs"},
	{"SDG", "Sudanese Pound", 2, "ج.س."},
	{"SEK", "Swedish Krona", 2, "kr"},
	{"SGD", "Singapore Dollar", 2, "S$"},
	{"SHP", "Saint Helena Pound", 2, "£"},
	{"SLE", "Leone", 2, "Le"},
	{"SOS", "Somali Shilling", 2, "Sh.So."},
	{"SRD", "Surinam Dollar", 2, "$"},
	{"SSP", "South Sudanese Pound", 2, "SS£"},
	{"STN", "Dobra", 2, "Db"},
	{"SVC", "El Salvador Colon", 2, "₡"},
	{"SYP", "Syrian Pound", 2, "ل.س"},
	{"SZL", "Lilangeni", 2, "E"},
	{"THB", "Baht", 2, "฿"},
	{"TJS", "Somoni", 2, "SM"},
	{"TMT", "Turkmenistan New Manat", 2, "m"},
	{"TND", "Tunisian Dinar", 3, "د.ت"},
	{"TOP", "Pa’anga", 2, "T$"},
	{"TRY", "Turkish Lira", 2, "₺"},
	{"TTD", "Trinidad and Tobago Dollar", 2, "TT$"},
	{"TWD", "New Taiwan Dollar", 2, "NT$"},
	{"TZS", "Tanzanian Shilling", 2, "TSh"},
	{"UAH", "Hryvnia", 2, "₴"},
	{"UGX", "Uganda Shilling", 0, "USh"},
	{"USD", "US Dollar", 2, "$"},
	{"USN", "US Dollar (Next day)", 2, "USN"},
	{"UYI", "Uruguay Peso en Unidades Indexadas (UI)", 0, "UYI"},
	{"UYU", "Peso Uruguayo", 2, "$"},
	{"UYW", "Unidad Previsional", 4, "UYW"},
	{"UZS", "Uzbekistan Sum", 2, "soʻm"},
	{"VED", "Bolívar Soberano", 2, "Bs.D"},
	{"VES", "Bolívar Soberano", 2, "Bs."},
	{"VND", "Dong", 0, "₫"},
	{"VUV", "Vatu", 0, "VT"},
	{"WST", "Tala", 2, "WS$"},
	{"XAD", "Arab Accounting Dinar", 2, "XAD"},
	{"XAF", "CFA Franc BEAC", 0, "FCFA"},
	{"XCD", "East Caribbean Dollar", 2, "EC$"},
	{"XCG", "Caribbean Guilder", 2, "Cg"},
	{"XOF", "CFA Franc BCEAO", 0, "CFA"},
	{"XPF", "CFP Franc", 0, "F"},
	{"YER", "Yemeni Rial", 2, "ر.ي"},
	{"ZAR", "Rand", 2, "R"},
	{"ZMW", "Zambian Kwacha", 2, "ZK"},
	{"ZWG", "Zimbabwe Gold", 2, "ZiG"},
}
