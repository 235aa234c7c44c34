package rules

import (
	"slices"
	"strings"
)

// Country is a country the portal knows: where a plan can go, where a
// network can report a phone, and how the portal names it on every screen,
// in the API's answers and in the customer emails.
type Country struct {
	Code string   // ISO 3166-1 alpha-2
	Name string   // the English short name the portal shows
	MCCs []string // the mobile country codes (ITU-T E.212) of its networks
}

// countries is the one table of countries, in code order. A few large
// countries have several MCCs. MCCs shared by several territories (340 French
// Antilles, 362 the former Netherlands Antilles) are left out: a network
// there must send the country.
var countries = []Country{
	{"AD", "Andorra", []string{"213"}},
	{"AE", "United Arab Emirates", []string{"424", "430", "431"}},
	{"AF", "Afghanistan", []string{"412"}},
	{"AG", "Antigua and Barbuda", []string{"344"}},
	{"AI", "Anguilla", []string{"365"}},
	{"AL", "Albania", []string{"276"}},
	{"AM", "Armenia", []string{"283"}},
	{"AO", "Angola", []string{"631"}},
	{"AR", "Argentina", []string{"722"}},
	{"AS", "American Samoa", []string{"544"}},
	{"AT", "Austria", []string{"232"}},
	{"AU", "Australia", []string{"505"}},
	{"AW", "Aruba", []string{"363"}},
	{"AZ", "Azerbaijan", []string{"400"}},
	{"BA", "Bosnia and Herzegovina", []string{"218"}},
	{"BB", "Barbados", []string{"342"}},
	{"BD", "Bangladesh", []string{"470"}},
	{"BE", "Belgium", []string{"206"}},
	{"BF", "Burkina Faso", []string{"613"}},
	{"BG", "Bulgaria", []string{"284"}},
	{"BH", "Bahrain", []string{"426"}},
	{"BI", "Burundi", []string{"642"}},
	{"BJ", "Benin", []string{"616"}},
	{"BM", "Bermuda", []string{"350"}},
	{"BN", "Brunei", []string{"528"}},
	{"BO", "Bolivia", []string{"736"}},
	{"BR", "Brazil", []string{"724"}},
	{"BS", "Bahamas", []string{"364"}},
	{"BT", "Bhutan", []string{"402"}},
	{"BW", "Botswana", []string{"652"}},
	{"BY", "Belarus", []string{"257"}},
	{"BZ", "Belize", []string{"702"}},
	{"CA", "Canada", []string{"302"}},
	{"CD", "DR Congo", []string{"630"}},
	{"CF", "Central African Republic", []string{"623"}},
	{"CG", "Congo", []string{"629"}},
	{"CH", "Switzerland", []string{"228"}},
	{"CI", "Côte d’Ivoire", []string{"612"}},
	{"CK", "Cook Islands", []string{"548"}},
	{"CL", "Chile", []string{"730"}},
	{"CM", "Cameroon", []string{"624"}},
	{"CN", "China", []string{"460", "461"}},
	{"CO", "Colombia", []string{"732"}},
	{"CR", "Costa Rica", []string{"712"}},
	{"CU", "Cuba", []string{"368"}},
	{"CV", "Cabo Verde", []string{"625"}},
	{"CY", "Cyprus", []string{"280"}},
	{"CZ", "Czechia", []string{"230"}},
	{"DE", "Germany", []string{"262"}},
	{"DJ", "Djibouti", []string{"638"}},
	{"DK", "Denmark", []string{"238"}},
	{"DM", "Dominica", []string{"366"}},
	{"DO", "Dominican Republic", []string{"370"}},
	{"DZ", "Algeria", []string{"603"}},
	{"EC", "Ecuador", []string{"740"}},
	{"EE", "Estonia", []string{"248"}},
	{"EG", "Egypt", []string{"602"}},
	{"ER", "Eritrea", []string{"657"}},
	{"ES", "Spain", []string{"214"}},
	{"ET", "Ethiopia", []string{"636"}},
	{"FI", "Finland", []string{"244"}},
	{"FJ", "Fiji", []string{"542"}},
	{"FK", "Falkland Islands", []string{"750"}},
	{"FM", "Micronesia", []string{"550"}},
	{"FO", "Faroe Islands", []string{"288"}},
	{"FR", "France", []string{"208"}},
	{"GA", "Gabon", []string{"628"}},
	{"GB", "United Kingdom", []string{"234", "235"}},
	{"GD", "Grenada", []string{"352"}},
	{"GE", "Georgia", []string{"282"}},
	{"GF", "French Guiana", []string{"742"}},
	{"GH", "Ghana", []string{"620"}},
	{"GI", "Gibraltar", []string{"266"}},
	{"GL", "Greenland", []string{"290"}},
	{"GM", "Gambia", []string{"607"}},
	{"GN", "Guinea", []string{"611"}},
	{"GQ", "Equatorial Guinea", []string{"627"}},
	{"GR", "Greece", []string{"202"}},
	{"GT", "Guatemala", []string{"704"}},
	{"GW", "Guinea-Bissau", []string{"632"}},
	{"GY", "Guyana", []string{"738"}},
	{"HK", "Hong Kong", []string{"454"}},
	{"HN", "Honduras", []string{"708"}},
	{"HR", "Croatia", []string{"219"}},
	{"HT", "Haiti", []string{"372"}},
	{"HU", "Hungary", []string{"216"}},
	{"ID", "Indonesia", []string{"510"}},
	{"IE", "Ireland", []string{"272"}},
	{"IL", "Israel", []string{"425"}},
	{"IN", "India", []string{"404", "405", "406"}},
	{"IQ", "Iraq", []string{"418"}},
	{"IR", "Iran", []string{"432"}},
	{"IS", "Iceland", []string{"274"}},
	{"IT", "Italy", []string{"222"}},
	{"JM", "Jamaica", []string{"338"}},
	{"JO", "Jordan", []string{"416"}},
	{"JP", "Japan", []string{"440", "441"}},
	{"KE", "Kenya", []string{"639"}},
	{"KG", "Kyrgyzstan", []string{"437"}},
	{"KH", "Cambodia", []string{"456"}},
	{"KI", "Kiribati", []string{"545"}},
	{"KM", "Comoros", []string{"654"}},
	{"KN", "Saint Kitts and Nevis", []string{"356"}},
	{"KP", "North Korea", []string{"467"}},
	{"KR", "South Korea", []string{"450"}},
	{"KW", "Kuwait", []string{"419"}},
	{"KY", "Cayman Islands", []string{"346"}},
	{"KZ", "Kazakhstan", []string{"401"}},
	{"LA", "Laos", []string{"457"}},
	{"LB", "Lebanon", []string{"415"}},
	{"LC", "Saint Lucia", []string{"358"}},
	{"LI", "Liechtenstein", []string{"295"}},
	{"LK", "Sri Lanka", []string{"413"}},
	{"LR", "Liberia", []string{"618"}},
	{"LS", "Lesotho", []string{"651"}},
	{"LT", "Lithuania", []string{"246"}},
	{"LU", "Luxembourg", []string{"270"}},
	{"LV", "Latvia", []string{"247"}},
	{"LY", "Libya", []string{"606"}},
	{"MA", "Morocco", []string{"604"}},
	{"MC", "Monaco", []string{"212"}},
	{"MD", "Moldova", []string{"259"}},
	{"ME", "Montenegro", []string{"297"}},
	{"MG", "Madagascar", []string{"646"}},
	{"MH", "Marshall Islands", []string{"551"}},
	{"MK", "North Macedonia", []string{"294"}},
	{"ML", "Mali", []string{"610"}},
	{"MM", "Myanmar", []string{"414"}},
	{"MN", "Mongolia", []string{"428"}},
	{"MO", "Macao", []string{"455"}},
	{"MR", "Mauritania", []string{"609"}},
	{"MS", "Montserrat", []string{"354"}},
	{"MT", "Malta", []string{"278"}},
	{"MU", "Mauritius", []string{"617"}},
	{"MV", "Maldives", []string{"472"}},
	{"MW", "Malawi", []string{"650"}},
	{"MX", "Mexico", []string{"334"}},
	{"MY", "Malaysia", []string{"502"}},
	{"MZ", "Mozambique", []string{"643"}},
	{"NA", "Namibia", []string{"649"}},
	{"NC", "New Caledonia", []string{"546"}},
	{"NE", "Niger", []string{"614"}},
	{"NG", "Nigeria", []string{"621"}},
	{"NI", "Nicaragua", []string{"710"}},
	{"NL", "Netherlands", []string{"204"}},
	{"NO", "Norway", []string{"242"}},
	{"NP", "Nepal", []string{"429"}},
	{"NR", "Nauru", []string{"536"}},
	{"NU", "Niue", []string{"555"}},
	{"NZ", "New Zealand", []string{"530"}},
	{"OM", "Oman", []string{"422"}},
	{"PA", "Panama", []string{"714"}},
	{"PE", "Peru", []string{"716"}},
	{"PF", "French Polynesia", []string{"547"}},
	{"PG", "Papua New Guinea", []string{"537"}},
	{"PH", "Philippines", []string{"515"}},
	{"PK", "Pakistan", []string{"410"}},
	{"PL", "Poland", []string{"260"}},
	{"PM", "Saint Pierre and Miquelon", []string{"308"}},
	{"PR", "Puerto Rico", []string{"330"}},
	{"PT", "Portugal", []string{"268"}},
	{"PW", "Palau", []string{"552"}},
	{"PY", "Paraguay", []string{"744"}},
	{"QA", "Qatar", []string{"427"}},
	{"RE", "Réunion", []string{"647"}},
	{"RO", "Romania", []string{"226"}},
	{"RS", "Serbia", []string{"220"}},
	{"RU", "Russia", []string{"250"}},
	{"RW", "Rwanda", []string{"635"}},
	{"SA", "Saudi Arabia", []string{"420"}},
	{"SB", "Solomon Islands", []string{"540"}},
	{"SC", "Seychelles", []string{"633"}},
	{"SD", "Sudan", []string{"634"}},
	{"SE", "Sweden", []string{"240"}},
	{"SG", "Singapore", []string{"525"}},
	{"SH", "Saint Helena", []string{"658"}},
	{"SI", "Slovenia", []string{"293"}},
	{"SK", "Slovakia", []string{"231"}},
	{"SL", "Sierra Leone", []string{"619"}},
	{"SM", "San Marino", []string{"292"}},
	{"SN", "Senegal", []string{"608"}},
	{"SO", "Somalia", []string{"637"}},
	{"SR", "Suriname", []string{"746"}},
	{"SS", "South Sudan", []string{"659"}},
	{"ST", "São Tomé and Príncipe", []string{"626"}},
	{"SV", "El Salvador", []string{"706"}},
	{"SY", "Syria", []string{"417"}},
	{"SZ", "Eswatini", []string{"653"}},
	{"TC", "Turks and Caicos Islands", []string{"376"}},
	{"TD", "Chad", []string{"622"}},
	{"TG", "Togo", []string{"615"}},
	{"TH", "Thailand", []string{"520"}},
	{"TJ", "Tajikistan", []string{"436"}},
	{"TL", "Timor-Leste", []string{"514"}},
	{"TM", "Turkmenistan", []string{"438"}},
	{"TN", "Tunisia", []string{"605"}},
	{"TO", "Tonga", []string{"539"}},
	{"TR", "Türkiye", []string{"286"}},
	{"TT", "Trinidad and Tobago", []string{"374"}},
	{"TV", "Tuvalu", []string{"553"}},
	{"TW", "Taiwan", []string{"466"}},
	{"TZ", "Tanzania", []string{"640"}},
	{"UA", "Ukraine", []string{"255"}},
	{"UG", "Uganda", []string{"641"}},
	{"US", "United States", []string{"310", "311", "312", "313", "314", "315", "316"}},
	{"UY", "Uruguay", []string{"748"}},
	{"UZ", "Uzbekistan", []string{"434"}},
	{"VA", "Vatican City", []string{"225"}},
	{"VC", "Saint Vincent and the Grenadines", []string{"360"}},
	{"VE", "Venezuela", []string{"734"}},
	{"VG", "British Virgin Islands", []string{"348"}},
	{"VI", "U.S. Virgin Islands", []string{"332"}},
	{"VN", "Vietnam", []string{"452"}},
	{"VU", "Vanuatu", []string{"541"}},
	{"WF", "Wallis and Futuna", []string{"543"}},
	{"WS", "Samoa", []string{"549"}},
	{"YE", "Yemen", []string{"421"}},
	{"ZA", "South Africa", []string{"655"}},
	{"ZM", "Zambia", []string{"645"}},
	{"ZW", "Zimbabwe", []string{"648"}},
}

// CountryByCode returns the country with an ISO 3166-1 alpha-2 code.
func CountryByCode(code string) (Country, bool) {
	i, ok := countryIndex(code)
	if !ok {
		return Country{}, false
	}
	c := countries[i]
	c.MCCs = slices.Clone(c.MCCs)
	return c, true
}

// Countries returns every country the portal knows, in code order.
func Countries() []Country {
	out := slices.Clone(countries)
	for i := range out {
		out[i].MCCs = slices.Clone(out[i].MCCs)
	}
	return out
}

func countryIndex(code string) (int, bool) {
	return slices.BinarySearchFunc(countries, code, func(c Country, code string) int { return strings.Compare(c.Code, code) })
}

// CountryOfMCC returns the ISO 3166-1 alpha-2 code of the country a mobile
// country code belongs to.
func CountryOfMCC(mcc string) (string, bool) {
	code, ok := countryOfMCC[mcc]
	return code, ok
}

// countryOfMCC indexes the table by MCC: a usage batch looks up a thousand.
var countryOfMCC = func() map[string]string {
	m := map[string]string{}
	for _, c := range countries {
		for _, mcc := range c.MCCs {
			m[mcc] = c.Code
		}
	}
	return m
}()

// KnownCountry reports whether code is the alpha-2 code of a country the
// portal knows.
func KnownCountry(code string) bool {
	_, ok := countryIndex(code)
	return ok
}

// CountryName returns a country's English name, or the code itself when the
// portal does not know it.
func CountryName(code string) string {
	if i, ok := countryIndex(code); ok {
		return countries[i].Name
	}
	return code
}

// CountryNames returns the English names of countries, in the order given.
func CountryNames(codes []string) []string {
	names := make([]string, len(codes))
	for i, c := range codes {
		names[i] = CountryName(c)
	}
	return names
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
		name := strings.ToLower(c.Name)
		if name == q {
			return c.Code
		}
		if strings.HasPrefix(name, q) {
			if found != "" {
				return ""
			}
			found = c.Code
		}
	}
	return found
}

// RegionPreset is a group of countries the catalog form adds at once.
type RegionPreset struct {
	Name      string
	Countries []string // ISO 3166-1 alpha-2
}

// RegionPresets are the groups a plan's destinations are often made of.
var RegionPresets = []RegionPreset{
	{"EU 27", strings.Fields("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK")},
	{"Nordics", strings.Fields("DK FI IS NO SE")},
	{"North America", strings.Fields("CA MX US")},
	{"South-East Asia", strings.Fields("ID KH LA MY PH SG TH VN")},
	{"Oceania", strings.Fields("AU NZ")},
}

// RegionPresetByName is the preset of that name.
func RegionPresetByName(name string) (RegionPreset, bool) {
	for _, p := range RegionPresets {
		if p.Name == name {
			return p, true
		}
	}
	return RegionPreset{}, false
}
