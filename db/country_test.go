package db

import "testing"

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
