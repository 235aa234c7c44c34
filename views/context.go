// Package views holds the portal's templ components: whole pages, and the
// fragments HTMX swaps, which the pages are built from.
package views

import (
	"context"

	"github.com/carrier/esim-admin/db"
)

// Page is what every page needs to know about the request it answers.
type Page struct {
	Login *db.Login // nil on the sign-in page
	CSRF  string
	Flash string
	Nav   string // the navigation entry to mark as current
	Demo  bool
	// SSOName is the text of the button that signs in through the identity
	// provider; "" when single sign-on is not configured.
	SSOName string
	// SignedInWithSSO is set when the identity provider signed this
	// session in: it has no password to confirm changes with.
	SignedInWithSSO bool
}

type pageKey struct{}

// WithPage stores the page context for the components rendered under ctx.
func WithPage(ctx context.Context, p Page) context.Context {
	return context.WithValue(ctx, pageKey{}, p)
}

func page(ctx context.Context) Page {
	p, _ := ctx.Value(pageKey{}).(Page)
	return p
}

func isLead(ctx context.Context) bool {
	p := page(ctx)
	return p.Login != nil && p.Login.Role == db.RoleLead
}
