package rules

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxLineNameLen is the longest line name, in characters.
const MaxLineNameLen = 40

// CleanLineName is a line name as the store keeps it, or what is wrong
// with it in an agent's words (problem, "" when nothing is): in Unicode
// normal form C, every run of spaces one plain space, trimmed. A name that could look like another (zero-width and other
// invisible format characters, bidi overrides, control characters, line
// separators) is refused rather than cleaned, so that what the agent sees is
// what is kept.
func CleanLineName(name string) (clean, problem string) {
	invalid := func(msg string) (string, string) { return "", msg }
	printable := func(r rune) bool { return unicode.IsPrint(r) || unicode.Is(unicode.Zs, r) }
	if !utf8.ValidString(name) || strings.IndexFunc(name, func(r rune) bool { return !printable(r) }) >= 0 {
		return invalid("Line name can only contain printable text: no invisible characters, text direction marks or line breaks.")
	}
	name = norm.NFC.String(strings.Join(strings.Fields(name), " "))
	switch {
	case name == "":
		return invalid("Enter a line name: the destination country, or the plan's region for a multi-country trip.")
	case utf8.RuneCountInString(name) > MaxLineNameLen:
		return invalid(fmt.Sprintf("Line name is too long: at most %d characters.", MaxLineNameLen))
	}
	return name, ""
}

// SameLineName reports whether two line names are the same to an agent's
// eye: the same once normalised, whatever the letter case. Names kept
// before CleanLineName refused invisible characters are read without them.
func SameLineName(a, b string) bool {
	key := func(s string) string {
		s = strings.Map(func(r rune) rune {
			if unicode.Is(unicode.Cf, r) {
				return -1
			}
			return r
		}, s)
		return norm.NFC.String(strings.Join(strings.Fields(s), " "))
	}
	return strings.EqualFold(key(a), key(b))
}
