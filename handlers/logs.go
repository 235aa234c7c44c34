package handlers

import (
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/carrier/esim-admin/emails"
)

// redactURI is the path and query of u as the log keeps them: every query
// value replaced, and no email address in the path or the names.
func redactURI(u *url.URL) string {
	out := emails.RedactAddresses(u.EscapedPath())
	if u.RawQuery == "" {
		return out
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return out + "?[query]"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for range q[k] {
			parts = append(parts, emails.RedactAddresses(url.QueryEscape(k))+"=_")
		}
	}
	return out + "?" + strings.Join(parts, "&")
}
