package rules

import (
	"slices"
	"strings"
	"testing"
)

func TestCountries(t *testing.T) {
	t.Run("Table", func(t *testing.T) {
		if !slices.IsSortedFunc(countries, func(a, b Country) int { return strings.Compare(a.Code, b.Code) }) {
			t.Error("the table is not in code order: lookups by code would miss")
		}
		seen := map[string]string{}
		names := map[string]string{}
		for i, c := range countries {
			if len(c.Code) != 2 || strings.ToUpper(c.Code) != c.Code {
				t.Errorf("%q is not an alpha-2 code", c.Code)
			}
			if i > 0 && countries[i-1].Code == c.Code {
				t.Errorf("%s is in the table twice", c.Code)
			}
			if other, ok := names[c.Name]; ok || c.Name == "" {
				t.Errorf("%s is named %q, as is %s", c.Code, c.Name, other)
			}
			names[c.Name] = c.Code
			for _, m := range c.MCCs {
				if len(m) != 3 || strings.Trim(m, "0123456789") != "" {
					t.Errorf("%s: MCC %q is not 3 digits", c.Code, m)
				}
				if other, ok := seen[m]; ok {
					t.Errorf("MCC %s is both %s and %s", m, other, c.Code)
				}
				seen[m] = c.Code
			}
		}
	})
	t.Run("CountryOfMCC", func(t *testing.T) {
		for mcc, want := range map[string]string{"310": "US", "316": "US", "404": "IN", "406": "IN", "234": "GB", "235": "GB",
			"440": "JP", "441": "JP", "262": "DE", "208": "FR", "286": "TR"} {
			if got, ok := CountryOfMCC(mcc); got != want || !ok {
				t.Errorf("CountryOfMCC(%s) = %q, %v, want %s", mcc, got, ok, want)
			}
		}
		if got, ok := CountryOfMCC("340"); ok {
			t.Errorf("CountryOfMCC(340) = %q, want none: several territories share it", got)
		}
	})
	t.Run("CountryName", func(t *testing.T) {
		for code, want := range map[string]string{"DE": "Germany", "TR": "Türkiye", "GB": "United Kingdom", "XX": "XX"} {
			if got := CountryName(code); got != want {
				t.Errorf("CountryName(%s) = %q, want %q", code, got, want)
			}
		}
		if !KnownCountry("ZW") || KnownCountry("XX") || KnownCountry("de") {
			t.Error("KnownCountry knows XX or de, or not ZW")
		}
	})
	t.Run("CountryByCode", func(t *testing.T) {
		c, ok := CountryByCode("US")
		if !ok || c.Name != "United States" || len(c.MCCs) != 7 || c.MCCs[0] != "310" {
			t.Fatalf("CountryByCode(US) = %+v, %v", c, ok)
		}
		c.MCCs[0] = "999"
		Countries()[0].MCCs[0] = "999"
		if got, _ := CountryOfMCC("310"); got != "US" {
			t.Error("changing a returned country changed the table")
		}
		if got, _ := CountryOfMCC("213"); got != "AD" {
			t.Error("changing the returned list changed the table")
		}
	})
}

func TestRegionPresetsAreKnownCountries(t *testing.T) {
	for _, p := range RegionPresets {
		for _, c := range p.Countries {
			if !KnownCountry(c) {
				t.Errorf("preset %s: unknown country %s", p.Name, c)
			}
		}
	}
	if eu, _ := RegionPresetByName("EU 27"); len(eu.Countries) != 27 {
		t.Errorf("EU 27 has %d countries", len(eu.Countries))
	}
}

func TestLookupCountry(t *testing.T) {
	for typed, want := range map[string]string{
		"Portugal": "PT", "portugal": "PT", "PT": "PT", "pt": "PT", " portu ": "PT", "United  Kingdom": "GB", "UK": "GB",
		"usa": "US", "Japan": "JP",
		"": "", "Atlantis": "", "united": "", "tur": "", "x": "",
	} {
		if got := LookupCountry(typed); got != want {
			t.Errorf("LookupCountry(%q) = %q, want %q", typed, got, want)
		}
	}
}
