package handlers_test

import (
	"strings"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
)

// text is the text of a selection as a person reads it: whitespace collapsed.
func text(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

// texts is the text of each element of a selection.
func texts(s *goquery.Selection) []string {
	var out []string
	s.Each(func(_ int, e *goquery.Selection) { out = append(out, text(e)) })
	return out
}

// words is what a person reads in a selection, each piece of text apart,
// whitespace collapsed: unlike text, two pieces the markup sets side by
// side ("Timeline" in a heading, "10 Jun" below it) do not run together,
// so the words do not depend on where the markup puts its whitespace.
func words(s *goquery.Selection) string {
	var out []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			if f := strings.Fields(n.Data); len(f) > 0 {
				out = append(out, strings.Join(f, " "))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range s.Nodes {
		walk(n)
	}
	return strings.Join(out, " ")
}
