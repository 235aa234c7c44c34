package handlers

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/labstack/echo/v4/middleware"
)

// contentSecurityPolicy allows only the portal's own scripts and styles.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

const csrfRefusal = "The form had expired or came from another site. Reload the page and try again."

// newServer is Echo with the middleware every request passes through, in
// order: its id, its log line and metrics, recovery from a panic, the
// security headers, the body's outer limit and the origin check. The CSRF
// check is per route group (csrf), as it needs the session first.
func (h *Handlers) newServer() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = h.ErrorHandler
	e.IPExtractor = clientIP(h.Proxies)

	e.Use(trustRequestID(h.Proxies))
	e.Use(middleware.RequestID())
	e.Use(h.logRequests())
	e.Use(h.measureRequests())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, DisablePrintStack: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			h.Log.Error("panic", "err", err, "stack", string(stack), "request_id", requestID(c))
			return err
		}}))
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection:         "0",
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		ContentSecurityPolicy: h.contentSecurityPolicy(),
		ReferrerPolicy:        "same-origin",
	}))
	// HSTS follows the configuration, not a header any client can send: the
	// portal is served over https when its base URL says so.
	if h.Secure {
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				c.Response().Header().Set(echo.HeaderStrictTransportSecurity, "max-age=31536000; includeSubDomains")
				return next(c)
			}
		})
	}
	e.Use(refuseLargerThanImport)
	e.Use(h.checkOrigin)
	return e
}

// csrf checks a form's token. It reads the form, so it runs once the body's
// limit is known: after the session for a signed-in page (readForm).
func (h *Handlers) csrf() echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "header:X-CSRF-Token,form:_csrf",
		CookieName:     "csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   h.Secure,
		CookieSameSite: http.SameSiteLaxMode,
		AllowSecFetchSiteFunc: func(c echo.Context) (bool, error) {
			if c.Request().Header.Get(echo.HeaderSecFetchSite) == "cross-site" {
				return false, refuse(db.ErrForbidden, csrfRefusal)
			}
			return false, nil // same-site: the token decides
		},
		ErrorHandler: func(err error, c echo.Context) error {
			return refuse(db.ErrForbidden, csrfRefusal)
		},
	})
}

// isOps reports whether the request is for health or metrics, which a
// machine asks for every few seconds.
func isOps(c echo.Context) bool {
	switch c.Path() {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return false
}

// logRequests writes one structured log line per request, with its id: the
// route, and the address asked for without its query's values, which can be
// what an agent searched for.
func (h *Handlers) logRequests() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURI: true, LogMethod: true, LogLatency: true, LogRequestID: true, LogError: true,
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			switch {
			case v.Status >= 500:
				level = slog.LevelError
			case isOps(c) && v.Status < 400:
				return nil // a probe every few seconds would drown the log
			}
			h.Log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method), slog.String("route", c.Path()), slog.String("uri", redactURI(c.Request().URL)), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("request_id", v.RequestID))
			return nil
		},
	})
}
