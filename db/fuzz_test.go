package db

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/carrier/esim-admin/db/rules"
)

// FuzzCheckICCID checks CheckICCID against the rule it implements, on any input.
func FuzzCheckICCID(f *testing.F) {
	for _, seed := range []string{"8901480000000000000", "89014800000000000007", "8901480000000000001", "", "89", "8901480000000000000x", "٨٩٠١٤٨٠٠٠٠٠٠٠٠٠٠٠٠٠"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, iccid string) {
		err := CheckICCID(iccid)
		digits := len(iccid) >= 19 && len(iccid) <= 20
		for _, r := range iccid {
			digits = digits && r >= '0' && r <= '9'
		}
		valid := digits && iccid[:2] == "89" && LuhnDigit(iccid[:len(iccid)-1]) == iccid[len(iccid)-1]
		if (err == nil) != valid {
			t.Fatalf("CheckICCID(%q) = %v, but the rule says valid=%v", iccid, err, valid)
		}
		if digits && iccid[:2] == "89" {
			// Any 18 or 19 digits after the prefix become valid with their check digit.
			body := iccid[:len(iccid)-1]
			if err := CheckICCID(body + string(LuhnDigit(body))); err != nil {
				t.Fatalf("%s with its Luhn digit refused: %v", body, err)
			}
		}
	})
}

// FuzzCleanLineName checks that a line name accepted is trimmed, short,
// printable and in normal form C, with plain single spaces.
func FuzzCleanLineName(f *testing.F) {
	for _, seed := range []string{"France", "  Southeast Asia ", "", "<script>alert(1)</script>", "a\x00b", "Ñandú ñ 🇫🇷",
		"Fr\u200bance", "\u202eecnarF", "E\u0301cosse", "a\u2028b", "a\u00a0\u3000b"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		clean, err := CleanLineName(name)
		if err != nil {
			return
		}
		if clean == "" || utf8.RuneCountInString(clean) > MaxLineNameLen || !norm.NFC.IsNormalString(clean) ||
			strings.TrimSpace(clean) != clean || strings.Contains(clean, "  ") ||
			strings.IndexFunc(clean, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			t.Fatalf("CleanLineName(%q) = %q, accepted", name, clean)
		}
		if !rules.SameLineName(name, clean) {
			t.Fatalf("%q and its clean form %q are not the same line name", name, clean)
		}
		if again, err := CleanLineName(clean); err != nil || again != clean {
			t.Fatalf("CleanLineName is not stable on %q: %q, %v", clean, again, err)
		}
	})
}

// FuzzParseInventoryCSV feeds any file to the inventory parser: it never
// panics, and every row it accepts passes the checks an eSIM must pass.
func FuzzParseInventoryCSV(f *testing.F) {
	f.Add("iccid,imsi_profile,smdp_address,matching_id\n8901480070000000011,7,smdp-eu.example.com,K2-4F7A1\n")
	f.Add("iccid,imsi_profile,smdp_address,matching_id\n8901480070000000011,3,https://x,\n8901480070000000011,7,a.b,M\n")
	f.Add("iccid,imsi_profile\n")
	f.Add("")
	f.Add("\"unterminated")
	f.Fuzz(func(t *testing.T, file string) {
		rows, bad, err := ParseInventoryCSV(strings.NewReader(file))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range rows {
			if CheckICCID(r.ICCID) != nil || !ValidIMSIProfile(r.IMSIProfile) || r.SMDPAddress == "" || r.MatchingID == "" {
				t.Fatalf("accepted a bad row %+v", r)
			}
			if seen[r.ICCID] && len(bad) == 0 {
				t.Fatalf("accepted ICCID %s twice without a complaint", r.ICCID)
			}
			seen[r.ICCID] = true
		}
		for _, b := range bad {
			if b.Line < 1 || b.Message == "" {
				t.Fatalf("a bad line without a number or reason: %+v", b)
			}
		}
	})
}
