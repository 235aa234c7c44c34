package handlers

import (
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"

	"github.com/carrier/esim-admin/static"
)

// serveStatic serves the embedded front-end files. Their names carry a hash
// of their content, so they can be cached for a year. Each is sent
// compressed, with brotli or gzip, when the browser takes one: compressed
// once, at the best ratio, since the files never change while the program
// runs.
func serveStatic(c echo.Context) error {
	name := c.Param("name")
	body, file, ok := static.Open(name)
	if !ok {
		return refuse(db.ErrNotFound, "")
	}
	header := c.Response().Header()
	header.Set("Cache-Control", "public, max-age=31536000, immutable")
	header.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	for _, enc := range static.Encodings {
		if !accepts(c.Request(), enc) {
			continue
		}
		if compressed, _, ok := static.OpenEncoded(name, enc); ok {
			header.Set(echo.HeaderContentEncoding, enc)
			body = compressed
			break
		}
	}
	return c.Blob(http.StatusOK, mime.TypeByExtension(path.Ext(file)), body)
}

// accepts reports whether the request's Accept-Encoding takes the content
// coding enc: named (or *) without q=0.
func accepts(r *http.Request, enc string) bool {
	for _, h := range r.Header.Values(echo.HeaderAcceptEncoding) {
		for part := range strings.SplitSeq(h, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			coding = strings.TrimSpace(coding)
			if !strings.EqualFold(coding, enc) && coding != "*" {
				continue
			}
			name, value, _ := strings.Cut(strings.TrimSpace(params), "=")
			if q, err := strconv.ParseFloat(strings.TrimSpace(value), 64); strings.TrimSpace(name) == "q" && err == nil && q == 0 {
				return false
			}
			return true
		}
	}
	return false
}
