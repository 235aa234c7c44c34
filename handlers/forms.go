package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
)

// What a request may send. Nothing reads a body before the session is known:
// a signed-in page's form is read after requireLogin, so a visitor who is not
// signed in is answered from the headers alone, whatever the body's size.
// Only a team lead's inventory import may be large.
const (
	signInBodyLimit = 8 << 10  // the sign-in form: a few hundred bytes
	formBodyLimit   = 64 << 10 // any other form of a signed-in page
	importBodyLimit = 12 << 20 // a delivery of eSIMs, for a team lead
	// importInMemory is how much of an import is held in memory while it is
	// read; the rest of the file waits on disk.
	importInMemory = 1 << 20
	// maxFieldBytes bounds every field of a form or query that fieldLimits
	// does not bound more tightly.
	maxFieldBytes = 2 << 10
)

// fieldLimits are the fields bounded more tightly than maxFieldBytes: the
// ones kept or shown again, at the most their rules allow.
var fieldLimits = map[string]int{
	"token":          formTokenLen,
	"_csrf":          64,
	"line_name":      4 * db.MaxLineNameLen, // 4 bytes per character at most in UTF-8
	"line_name_auto": 4 * db.MaxLineNameLen,
	"email":          320,
	"password":       1 << 10,
	"country":        200,
}

// errBodyCut is a body that ended before the length its request announced:
// the client hung up in the middle of sending it.
var errBodyCut = fmt.Errorf("the request body stopped short: %w", context.Canceled)

// readForm reads the request's form, query and body, within limit bytes of
// body, and refuses a field longer than its bound before any handler, or
// the CSRF check, looks at it: nothing oversized is kept or shown again.
func readForm(limit func(c echo.Context) int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			n := limit(c)
			if r.ContentLength > n {
				return refuse(db.ErrTooLarge, "") // said in the headers: not read at all
			}
			// The server's own body goes back once the form is read: what is
			// left of it, if anything, the server then skips or closes the
			// connection on, as it does for any body a handler did not read.
			body := r.Body
			r.Body = http.MaxBytesReader(c.Response(), body, n)
			var err error
			if mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); mt == echo.MIMEMultipartForm {
				err = r.ParseMultipartForm(importInMemory)
			} else {
				err = r.ParseForm()
			}
			r.Body = body
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				return refuse(db.ErrTooLarge, "")
			case errors.Is(err, io.ErrUnexpectedEOF) || (err != nil && r.Context().Err() != nil):
				return errBodyCut
			case err != nil:
				return refuse(db.ErrInvalid, "The form could not be read. Reload the page and try again.")
			}
			for name, values := range r.Form {
				bound, ok := fieldLimits[name]
				if !ok {
					bound = maxFieldBytes
				}
				for _, v := range values {
					if len(v) > bound {
						// Refused as too large, and not shown again.
						return refuse(db.ErrTooLarge, "")
					}
				}
			}
			return next(c)
		}
	}
}

// refuseLargerThanImport refuses, from its headers, a body larger than any
// route takes. It does not wrap the body: the server answers a handler that
// did not read a large body at once, and closes the connection, but first
// reads some of a body it cannot see the size of.
func refuseLargerThanImport(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().ContentLength > importBodyLimit {
			return refuse(db.ErrTooLarge, "")
		}
		return next(c)
	}
}

// signedInBodyLimit is the body a signed-in login may send to this route:
// a team lead's import may be large, any other form is small.
func signedInBodyLimit(c echo.Context) int64 {
	if c.Path() == "/esims/import" && login(c).Role == db.RoleLead {
		return importBodyLimit
	}
	return formBodyLimit
}
