package handlers

import (
	"mime"
	"net/http"
	"path"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/static"
)

// serveStatic serves the embedded front-end files. Their names carry a hash
// of their content, so they can be cached for a year.
func serveStatic(c echo.Context) error {
	body, name, ok := static.Open(c.Param("name"))
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	return c.Blob(http.StatusOK, mime.TypeByExtension(path.Ext(name)), body)
}
