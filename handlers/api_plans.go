package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
)

// The catalog API: the carrier's product system puts plans into the
// catalog and reads it, under the rules of db/catalog.go, as a team lead
// does on the Plans page.

// planRequest is a plan as PUT sends it; every field is required, and
// pointers tell a field left out from a zero.
type planRequest struct {
	Name         *string  `json:"name"`
	Region       *string  `json:"region"`
	DataMB       *int     `json:"data_mb"`
	PriceCents   *int     `json:"price_cents"`
	Currency     *string  `json:"currency"`
	IMSIProfile  *int     `json:"imsi_profile"`
	Destinations []string `json:"destinations"`
	OnSale       *bool    `json:"on_sale"`
}

// planJSON is a plan of the catalog as the API answers it.
type planJSON struct {
	Code         string   `json:"code"`
	Name         string   `json:"name"`
	Region       string   `json:"region"`
	DataMB       int      `json:"data_mb"`
	PriceCents   int      `json:"price_cents"`
	Currency     string   `json:"currency"`
	IMSIProfile  int      `json:"imsi_profile"`
	Destinations []string `json:"destinations"`
	OnSale       bool     `json:"on_sale"`
	ValidityDays int      `json:"validity_days"`
}

type catalogPlanJSON struct {
	planJSON
	Sold    int `json:"sold"`
	Running int `json:"running"`
	Queued  int `json:"queued"`
}

type putPlanResponse struct {
	Plan    planJSON `json:"plan"`
	Created bool     `json:"created"`
	Changes []string `json:"changes"`
}

func planOut(p db.Plan) planJSON {
	dest := p.Destinations
	if dest == nil {
		dest = []string{}
	}
	return planJSON{Code: p.Code, Name: p.Name, Region: p.Region, DataMB: p.DataMB, PriceCents: p.PriceCents, Currency: p.Currency,
		IMSIProfile: p.IMSIProfile, Destinations: dest, OnSale: p.Active, ValidityDays: p.ValidityDays}
}

// apiPlans lists the whole catalog, withdrawn plans included.
func (h *Handlers) apiPlans(c echo.Context) error {
	entries, err := h.Store.Catalog(c.Request().Context(), db.CatalogFilter{})
	if err != nil {
		return err
	}
	out := make([]catalogPlanJSON, len(entries))
	for i, e := range entries {
		out[i] = catalogPlanJSON{planJSON: planOut(e.Plan), Sold: e.Sold, Running: e.Running, Queued: e.Queued}
	}
	return c.JSON(http.StatusOK, map[string]any{"plans": out})
}

// apiPlan answers one plan of the catalog.
func (h *Handlers) apiPlan(c echo.Context) error {
	p, err := h.Store.PlanByCode(c.Request().Context(), c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, planOut(p))
}

// apiPutPlan adds the plan with the code of the path, or changes it: 201
// when added, 200 when changed (or already so), 400 with every field that
// will not do, 409 naming each field a sold plan keeps.
func (h *Handlers) apiPutPlan(c echo.Context) error {
	var req planRequest
	if err := decodeJSON(c, &req, apiBodyLimit); err != nil {
		return err
	}
	var missing db.Errors
	need := func(field string, given bool) {
		if !given {
			missing = append(missing, &db.Error{Code: db.ErrInvalid, Field: field, Message: field + " is required"})
		}
	}
	p := db.Plan{Code: c.Param("code"), Destinations: req.Destinations}
	need("name", req.Name != nil)
	need("region", req.Region != nil)
	need("data_mb", req.DataMB != nil)
	need("price_cents", req.PriceCents != nil)
	need("currency", req.Currency != nil)
	need("imsi_profile", req.IMSIProfile != nil)
	need("destinations", req.Destinations != nil)
	need("on_sale", req.OnSale != nil)
	if len(missing) > 0 {
		return missing
	}
	p.Name, p.Region, p.DataMB, p.PriceCents, p.Currency, p.IMSIProfile, p.Active =
		*req.Name, *req.Region, *req.DataMB, *req.PriceCents, *req.Currency, *req.IMSIProfile, *req.OnSale
	res, err := h.Store.SavePlan(c.Request().Context(), p, db.Login{})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	changes := res.Changes
	if changes == nil {
		changes = []string{}
	}
	return c.JSON(status, putPlanResponse{Plan: planOut(res.Plan), Created: res.Created, Changes: changes})
}
