package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
)

// checkOrigin refuses a form sent from another origin than the portal's, as
// its Origin header says: defence in depth next to Sec-Fetch-Site and the
// CSRF token, for a browser that sends the one but a proxy that strips the
// other. A request without Origin (older browsers, scripts) is left to them.
// The network API authenticates with a bearer token and is not a browser's.
func (h *Handlers) checkOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			return next(c)
		}
		origin := r.Header.Get(echo.HeaderOrigin)
		if origin == "" || isAPI(c) {
			return next(c)
		}
		if !strings.EqualFold(normalOrigin(origin), h.portalOrigin(r)) {
			return refuse(db.ErrForbidden, csrfRefusal)
		}
		return next(c)
	}
}

// portalOrigin is the origin of the base URL or, without one, of the
// address the request was sent to.
func (h *Handlers) portalOrigin(r *http.Request) string {
	if h.BaseURL != "" {
		return normalOrigin(h.BaseURL)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return normalOrigin(scheme + "://" + r.Host)
}

// normalOrigin is scheme://host of a URL, without the scheme's default port;
// "" for anything that is not an http(s) URL, such as the "null" origin.
func normalOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	host := u.Host
	if port := u.Port(); (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		host = u.Hostname()
	}
	return strings.ToLower(u.Scheme + "://" + host)
}
