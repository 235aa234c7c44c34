package db

import (
	"testing"
	"unicode/utf8"
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

// FuzzCleanLineName checks that a line name accepted is trimmed, short and printable.
func FuzzCleanLineName(f *testing.F) {
	for _, seed := range []string{"France", "  Southeast Asia ", "", "<script>alert(1)</script>", "a\x00b", "Ñandú ñ 🇫🇷"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		clean, err := CleanLineName(name)
		if err != nil {
			return
		}
		if clean == "" || utf8.RuneCountInString(clean) > MaxLineNameLen {
			t.Fatalf("CleanLineName(%q) = %q, accepted", name, clean)
		}
		if again, err := CleanLineName(clean); err != nil || again != clean {
			t.Fatalf("CleanLineName is not stable on %q: %q, %v", clean, again, err)
		}
	})
}
