package browsertest

import "testing"

// The selectors the steps build, checked without a browser: a quote in the
// text an XPath looks for, and the marker that tells a swapped-in element
// from the stale one.
func TestSelectors(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{XPathString(`Line "Europe" renamed`), `'Line "Europe" renamed'`},
		{XPathString(`Plan added`), `"Plan added"`},
		{Fresh("#add-line-form"), `#add-line-form:not([data-e2e-stale])`},
		{FreshJS("#f", "#p:checked"), `(document.querySelector('.htmx-request') ? null : document.querySelector("#f:not([data-e2e-stale]) #p:checked"))`},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
	if _, err := AxeSource(); err != nil {
		t.Errorf("axe-core is not found from this package's folder: %v", err)
	}
}
