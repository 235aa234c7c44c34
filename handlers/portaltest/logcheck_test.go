package portaltest

import (
	"slices"
	"strings"
	"testing"
)

func TestSecretIndexFindsEverySecretALineCarries(t *testing.T) {
	idx := indexSecrets([]secret{
		{"a subscriber's email address", "Ana.Silva+trip@example.com"},
		{"a subscriber's name", "Ana Silva"},
		{"a subscriber's name", "Ana Silvano"},
		{"a token", "Kk"},
		{"an eSIM's matching ID", "QR-7F3A-0001"},
	})
	for _, c := range []struct {
		line string
		want []string
	}{
		{`msg="sent" to=ana.silva+trip@example.com`, []string{"Ana.Silva+trip@example.com"}},
		{`GET /search?q=Ana.Silva%2Btrip%40example.com`, []string{"Ana.Silva+trip@example.com"}},
		{`GET /search?q=ANA+SILVA`, []string{"Ana Silva"}},
		{`GET /search/Ana%20Silvano`, []string{"Ana Silva", "Ana Silvano"}},
		{`code=qr-7f3a-0001 token=kk`, []string{"Kk", "QR-7F3A-0001"}},
		{`POST /subscribers/12/lines 303 in 4ms`, nil},
		{`Ana Silv`, nil},
	} {
		var got []string
		for _, s := range idx.in(strings.ToLower(c.line)) {
			got = append(got, s.value)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%q carries %q, want %q", c.line, got, c.want)
		}
	}
}
