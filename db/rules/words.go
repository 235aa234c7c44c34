package rules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The words every screen and email uses for the store's figures: data,
// days, money. They are here, beside the rules that produce the figures, so
// that the views, the emails and the store's audit entries say them alike.

// FormatBytes reads a number of bytes as carriers sell data, with 1 MB =
// 1,000,000 bytes: "380 MB", "2.96 GB", "12.5 GB", "512 kB"; nothing reads
// "0 MB". Gigabytes keep three figures, so data left is not rounded into
// more than there is by much.
func FormatBytes(n int64) string {
	switch {
	case n == 0:
		return "0 MB"
	case n >= 10_000_000_000:
		return decimal((n+50_000_000)/100_000_000, 1) + " GB"
	case n >= 1_000_000_000:
		return decimal((n+5_000_000)/10_000_000, 2) + " GB"
	case n >= 1_000_000:
		return strconv.FormatInt((n+500_000)/1_000_000, 10) + " MB"
	case n >= 1_000:
		return strconv.FormatInt((n+500)/1_000, 10) + " kB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// decimal writes n hundredths (places 2) or tenths (places 1) without
// trailing zeros: 296 → "2.96", 250 → "2.5", 300 → "3".
func decimal(n int64, places int) string {
	s := strconv.FormatInt(n, 10)
	for len(s) <= places {
		s = "0" + s
	}
	whole, frac := s[:len(s)-places], strings.TrimRight(s[len(s)-places:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

var currencySymbols = map[string]string{"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$"}

// Money reads "$19.00", "€19.00", or "19.00 CHF" for a currency without a
// symbol of its own.
func Money(cents int, currency string) string {
	amount := fmt.Sprintf("%d.%02d", cents/100, cents%100)
	if sym, ok := currencySymbols[currency]; ok || currency == "" {
		if currency == "" {
			sym = "$"
		}
		return sym + amount
	}
	return amount + " " + currency
}

// DaysLeft reads the time to a plan's end as "27 days left"; a day begun
// counts as a day left, so the last hours read "1 day left".
func DaysLeft(d time.Duration) string {
	days := int(math.Ceil(d.Hours() / 24))
	if days == 1 {
		return "1 day left"
	}
	return fmt.Sprintf("%d days left", days)
}

// DateTime is a moment as people read it in the portal's pages, its audit
// log and its refusals: to the minute, in UTC, which it says (portal.js
// reads it back to show it in the agent's own zone).
func DateTime(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") }
