package handlers_test

import (
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// text is the text of a selection as a person reads it: whitespace collapsed.
func text(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

// texts is the text of each element of a selection.
func texts(s *goquery.Selection) []string {
	var out []string
	s.Each(func(_ int, e *goquery.Selection) { out = append(out, text(e)) })
	return out
}
