package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

// Integrations: team leads give each of the carrier's systems an API client
// with its own key and scopes, and revoke it. A key is shown once, in the
// answer to the form that made it, and never again.

func (h *Handlers) integrationsPage(c echo.Context) error {
	return h.renderIntegrations(c, http.StatusOK, views.IntegrationsForm{})
}

func (h *Handlers) renderIntegrations(c echo.Context, status int, f views.IntegrationsForm) error {
	c.Set(navKey, "integrations")
	var err error
	if f.Clients, err = h.Store.APIClients(c.Request().Context()); err != nil {
		return err
	}
	f.LegacyToken = h.APIToken != ""
	// The page may hold a key: no cache keeps it.
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return h.render(c, status, views.Integrations(f))
}

func (h *Handlers) addAPIClient(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	f := views.IntegrationsForm{Name: strings.TrimSpace(form.Get("name")), Scopes: form["scope"]}
	client, key, err := h.Store.AddAPIClient(c.Request().Context(), f.Name, f.Scopes, login(c))
	if refusals := db.Refusals(err); refusals != nil {
		f.Errors = refusals.ByField()
		return h.renderIntegrations(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	return h.renderIntegrations(c, http.StatusOK, views.IntegrationsForm{NewKey: key, NewClient: client})
}

func (h *Handlers) revokeAPIClient(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	client, err := h.Store.RevokeAPIClient(c.Request().Context(), id, login(c))
	if err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/integrations", fmt.Sprintf("Revoked the key of %s (…%s): its calls are refused from now on.", client.Name, client.KeyLast4))
}
