package db

import "strings"

// countries are the countries a network can report an attachment in: ISO
// 3166-1 alpha-2 code, English name, and the mobile country codes (ITU-T
// E.212) their networks use. A few large countries have several MCCs.
// MCCs shared by several territories (340 French Antilles, 362 the former
// Netherlands Antilles) are left out: a network there must send the country.
var countries = []struct {
	code, name, mccs string
}{
	// Europe
	{"AD", "Andorra", "213"},
	{"AL", "Albania", "276"},
	{"AM", "Armenia", "283"},
	{"AT", "Austria", "232"},
	{"BA", "Bosnia and Herzegovina", "218"},
	{"BE", "Belgium", "206"},
	{"BG", "Bulgaria", "284"},
	{"BY", "Belarus", "257"},
	{"CH", "Switzerland", "228"},
	{"CY", "Cyprus", "280"},
	{"CZ", "Czechia", "230"},
	{"DE", "Germany", "262"},
	{"DK", "Denmark", "238"},
	{"EE", "Estonia", "248"},
	{"ES", "Spain", "214"},
	{"FI", "Finland", "244"},
	{"FO", "Faroe Islands", "288"},
	{"FR", "France", "208"},
	{"GB", "United Kingdom", "234 235"},
	{"GE", "Georgia", "282"},
	{"GI", "Gibraltar", "266"},
	{"GL", "Greenland", "290"},
	{"GR", "Greece", "202"},
	{"HR", "Croatia", "219"},
	{"HU", "Hungary", "216"},
	{"IE", "Ireland", "272"},
	{"IS", "Iceland", "274"},
	{"IT", "Italy", "222"},
	{"LI", "Liechtenstein", "295"},
	{"LT", "Lithuania", "246"},
	{"LU", "Luxembourg", "270"},
	{"LV", "Latvia", "247"},
	{"MC", "Monaco", "212"},
	{"MD", "Moldova", "259"},
	{"ME", "Montenegro", "297"},
	{"MK", "North Macedonia", "294"},
	{"MT", "Malta", "278"},
	{"NL", "Netherlands", "204"},
	{"NO", "Norway", "242"},
	{"PL", "Poland", "260"},
	{"PT", "Portugal", "268"},
	{"RO", "Romania", "226"},
	{"RS", "Serbia", "220"},
	{"RU", "Russia", "250"},
	{"SE", "Sweden", "240"},
	{"SI", "Slovenia", "293"},
	{"SK", "Slovakia", "231"},
	{"SM", "San Marino", "292"},
	{"TR", "Turkey", "286"},
	{"UA", "Ukraine", "255"},
	{"VA", "Vatican City", "225"},

	// North America and the Caribbean
	{"AG", "Antigua and Barbuda", "344"},
	{"AI", "Anguilla", "365"},
	{"AW", "Aruba", "363"},
	{"BB", "Barbados", "342"},
	{"BM", "Bermuda", "350"},
	{"BS", "Bahamas", "364"},
	{"CA", "Canada", "302"},
	{"CU", "Cuba", "368"},
	{"DM", "Dominica", "366"},
	{"DO", "Dominican Republic", "370"},
	{"GD", "Grenada", "352"},
	{"HT", "Haiti", "372"},
	{"JM", "Jamaica", "338"},
	{"KN", "Saint Kitts and Nevis", "356"},
	{"KY", "Cayman Islands", "346"},
	{"LC", "Saint Lucia", "358"},
	{"MS", "Montserrat", "354"},
	{"MX", "Mexico", "334"},
	{"PM", "Saint Pierre and Miquelon", "308"},
	{"PR", "Puerto Rico", "330"},
	{"TC", "Turks and Caicos Islands", "376"},
	{"TT", "Trinidad and Tobago", "374"},
	{"US", "United States", "310 311 312 313 314 315 316"},
	{"VC", "Saint Vincent and the Grenadines", "360"},
	{"VG", "British Virgin Islands", "348"},
	{"VI", "U.S. Virgin Islands", "332"},

	// Central and South America
	{"AR", "Argentina", "722"},
	{"BO", "Bolivia", "736"},
	{"BR", "Brazil", "724"},
	{"BZ", "Belize", "702"},
	{"CL", "Chile", "730"},
	{"CO", "Colombia", "732"},
	{"CR", "Costa Rica", "712"},
	{"EC", "Ecuador", "740"},
	{"FK", "Falkland Islands", "750"},
	{"GF", "French Guiana", "742"},
	{"GT", "Guatemala", "704"},
	{"GY", "Guyana", "738"},
	{"HN", "Honduras", "708"},
	{"NI", "Nicaragua", "710"},
	{"PA", "Panama", "714"},
	{"PE", "Peru", "716"},
	{"PY", "Paraguay", "744"},
	{"SR", "Suriname", "746"},
	{"SV", "El Salvador", "706"},
	{"UY", "Uruguay", "748"},
	{"VE", "Venezuela", "734"},

	// Asia and the Middle East
	{"AE", "United Arab Emirates", "424 430 431"},
	{"AF", "Afghanistan", "412"},
	{"AZ", "Azerbaijan", "400"},
	{"BD", "Bangladesh", "470"},
	{"BH", "Bahrain", "426"},
	{"BN", "Brunei", "528"},
	{"BT", "Bhutan", "402"},
	{"CN", "China", "460 461"},
	{"HK", "Hong Kong", "454"},
	{"ID", "Indonesia", "510"},
	{"IL", "Israel", "425"},
	{"IN", "India", "404 405 406"},
	{"IQ", "Iraq", "418"},
	{"IR", "Iran", "432"},
	{"JO", "Jordan", "416"},
	{"JP", "Japan", "440 441"},
	{"KG", "Kyrgyzstan", "437"},
	{"KH", "Cambodia", "456"},
	{"KP", "North Korea", "467"},
	{"KR", "South Korea", "450"},
	{"KW", "Kuwait", "419"},
	{"KZ", "Kazakhstan", "401"},
	{"LA", "Laos", "457"},
	{"LB", "Lebanon", "415"},
	{"LK", "Sri Lanka", "413"},
	{"MM", "Myanmar", "414"},
	{"MN", "Mongolia", "428"},
	{"MO", "Macao", "455"},
	{"MV", "Maldives", "472"},
	{"MY", "Malaysia", "502"},
	{"NP", "Nepal", "429"},
	{"OM", "Oman", "422"},
	{"PH", "Philippines", "515"},
	{"PK", "Pakistan", "410"},
	{"QA", "Qatar", "427"},
	{"SA", "Saudi Arabia", "420"},
	{"SG", "Singapore", "525"},
	{"SY", "Syria", "417"},
	{"TH", "Thailand", "520"},
	{"TJ", "Tajikistan", "436"},
	{"TL", "Timor-Leste", "514"},
	{"TM", "Turkmenistan", "438"},
	{"TW", "Taiwan", "466"},
	{"UZ", "Uzbekistan", "434"},
	{"VN", "Vietnam", "452"},
	{"YE", "Yemen", "421"},

	// Oceania
	{"AS", "American Samoa", "544"},
	{"AU", "Australia", "505"},
	{"CK", "Cook Islands", "548"},
	{"FJ", "Fiji", "542"},
	{"FM", "Micronesia", "550"},
	{"KI", "Kiribati", "545"},
	{"MH", "Marshall Islands", "551"},
	{"NC", "New Caledonia", "546"},
	{"NR", "Nauru", "536"},
	{"NU", "Niue", "555"},
	{"NZ", "New Zealand", "530"},
	{"PF", "French Polynesia", "547"},
	{"PG", "Papua New Guinea", "537"},
	{"PW", "Palau", "552"},
	{"SB", "Solomon Islands", "540"},
	{"TO", "Tonga", "539"},
	{"TV", "Tuvalu", "553"},
	{"VU", "Vanuatu", "541"},
	{"WF", "Wallis and Futuna", "543"},
	{"WS", "Samoa", "549"},

	// Africa
	{"AO", "Angola", "631"},
	{"BF", "Burkina Faso", "613"},
	{"BI", "Burundi", "642"},
	{"BJ", "Benin", "616"},
	{"BW", "Botswana", "652"},
	{"CD", "DR Congo", "630"},
	{"CF", "Central African Republic", "623"},
	{"CG", "Congo", "629"},
	{"CI", "Côte d’Ivoire", "612"},
	{"CM", "Cameroon", "624"},
	{"CV", "Cape Verde", "625"},
	{"DJ", "Djibouti", "638"},
	{"DZ", "Algeria", "603"},
	{"EG", "Egypt", "602"},
	{"ER", "Eritrea", "657"},
	{"ET", "Ethiopia", "636"},
	{"GA", "Gabon", "628"},
	{"GH", "Ghana", "620"},
	{"GM", "Gambia", "607"},
	{"GN", "Guinea", "611"},
	{"GQ", "Equatorial Guinea", "627"},
	{"GW", "Guinea-Bissau", "632"},
	{"KE", "Kenya", "639"},
	{"KM", "Comoros", "654"},
	{"LR", "Liberia", "618"},
	{"LS", "Lesotho", "651"},
	{"LY", "Libya", "606"},
	{"MA", "Morocco", "604"},
	{"MG", "Madagascar", "646"},
	{"ML", "Mali", "610"},
	{"MR", "Mauritania", "609"},
	{"MU", "Mauritius", "617"},
	{"MW", "Malawi", "650"},
	{"MZ", "Mozambique", "643"},
	{"NA", "Namibia", "649"},
	{"NE", "Niger", "614"},
	{"NG", "Nigeria", "621"},
	{"RE", "Réunion", "647"},
	{"RW", "Rwanda", "635"},
	{"SC", "Seychelles", "633"},
	{"SD", "Sudan", "634"},
	{"SH", "Saint Helena", "658"},
	{"SL", "Sierra Leone", "619"},
	{"SN", "Senegal", "608"},
	{"SO", "Somalia", "637"},
	{"SS", "South Sudan", "659"},
	{"ST", "São Tomé and Príncipe", "626"},
	{"SZ", "Eswatini", "653"},
	{"TD", "Chad", "622"},
	{"TG", "Togo", "615"},
	{"TN", "Tunisia", "605"},
	{"TZ", "Tanzania", "640"},
	{"UG", "Uganda", "641"},
	{"ZA", "South Africa", "655"},
	{"ZM", "Zambia", "645"},
	{"ZW", "Zimbabwe", "648"},
}

var (
	countryOfMCC = map[string]string{}
	countryNames = map[string]string{}
)

func init() {
	for _, c := range countries {
		countryNames[c.code] = c.name
		for _, m := range strings.Fields(c.mccs) {
			countryOfMCC[m] = c.code
		}
	}
}

// CountryOfMCC returns the ISO 3166-1 alpha-2 code of the country a mobile
// country code belongs to.
func CountryOfMCC(mcc string) (string, bool) {
	c, ok := countryOfMCC[mcc]
	return c, ok
}

// KnownCountry reports whether code is the alpha-2 code of a country the
// portal knows.
func KnownCountry(code string) bool {
	_, ok := countryNames[code]
	return ok
}

// CountryName returns a country's English name, or the code itself when the
// portal does not know it.
func CountryName(code string) string {
	if n, ok := countryNames[code]; ok {
		return n
	}
	return code
}

// countryAliases are names agents type for a country that are not its name.
var countryAliases = map[string]string{"uk": "GB", "great britain": "GB", "england": "GB", "usa": "US", "america": "US"}

// LookupCountry finds the country an agent typed: its two-letter code or
// its English name, in any case, or the start of one name only. It returns
// the code, or "" when nothing or more than one country fits.
func LookupCountry(typed string) string {
	q := strings.ToLower(strings.Join(strings.Fields(typed), " "))
	if q == "" {
		return ""
	}
	if code, ok := countryAliases[q]; ok {
		return code
	}
	if len(q) == 2 {
		if code := strings.ToUpper(q); KnownCountry(code) {
			return code
		}
	}
	found := ""
	for _, c := range countries {
		name := strings.ToLower(c.name)
		if name == q {
			return c.code
		}
		if strings.HasPrefix(name, q) {
			if found != "" {
				return ""
			}
			found = c.code
		}
	}
	return found
}
