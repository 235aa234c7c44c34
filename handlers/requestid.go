package handlers

import (
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
)

// requestID is the id of c's request, as its answer carries it, for the log.
func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

// maxRequestIDLen is the longest request id taken from a proxy.
const maxRequestIDLen = 64

// trustRequestID keeps the X-Request-Id a request came with only when the
// connection is from a trusted proxy (-trusted-proxies) and the id is short
// and of safe characters; otherwise the id is dropped, and the portal makes
// its own. A client could else write what it likes into the log and the
// answer's headers, or forge the id of another request to confuse an
// incident's trail.
func trustRequestID(proxies []*net.IPNet) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if id := r.Header.Get(echo.HeaderXRequestID); id != "" && !(fromProxy(r, proxies) && safeRequestID(id)) {
				r.Header.Del(echo.HeaderXRequestID)
			}
			return next(c)
		}
	}
}

// fromProxy reports whether the request's connection comes from one of
// the trusted proxies.
func fromProxy(r *http.Request, proxies []*net.IPNet) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	for _, p := range proxies {
		if ip != nil && p.Contains(ip) {
			return true
		}
	}
	return false
}

// safeRequestID reports whether id is 1 to maxRequestIDLen letters, digits,
// '-', '_', '.' or ':', which is what proxies' ids are made of (UUIDs, hex).
func safeRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_', r == '.', r == ':':
		default:
			return false
		}
	}
	return true
}
