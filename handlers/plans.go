package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/rules"
	"github.com/carrier/esim-admin/views"
)

// plansPage is the catalog: every login reads it, team leads change it.
func (h *Handlers) plansPage(c echo.Context) error {
	c.Set(navKey, "plans")
	ctx := c.Request().Context()
	v := views.PlansView{Country: strings.TrimSpace(c.QueryParam("country")),
		Filter: db.CatalogFilter{Region: c.QueryParam("region"), Search: c.QueryParam("q")}}
	v.Filter.Profile, _ = strconv.Atoi(c.QueryParam("profile"))
	v.Filter.Country = rules.LookupCountry(v.Country)
	var err error
	if v.Entries, err = h.Store.Catalog(ctx, v.Filter); err != nil {
		return err
	}
	if v.All, err = h.Store.Plans(ctx, true); err != nil {
		return err
	}
	if v.Forecasts, err = h.forecasts(ctx); err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.Plans(v))
}

// forecasts are Insights' stock forecasts, from the figures it keeps.
func (h *Handlers) forecasts(ctx context.Context) ([]db.StockForecast, error) {
	in, err := h.insights.get(ctx)
	if err != nil {
		return nil, err
	}
	return in.Forecasts(h.ReorderDays), nil
}

// newPlanForm shows Add a plan: empty, a copy of a plan ("Copy into a new
// plan"), or, for the destination search and presets, as sent.
func (h *Handlers) newPlanForm(c echo.Context) error {
	c.Set(navKey, "plans")
	f := views.PlanForm{Currency: db.Currencies[0], OnSale: true}
	if code := c.QueryParam("copy"); code != "" && !sentForm(c) {
		p, err := h.Store.PlanByCode(c.Request().Context(), code)
		if err != nil {
			return err
		}
		fillPlanForm(&f, p)
		f.Code, f.OnSale = "", true
	}
	return h.showPlanForm(c, http.StatusOK, f)
}

// editPlanForm shows a plan's form, with its withdraw and delete buttons.
func (h *Handlers) editPlanForm(c echo.Context) error {
	c.Set(navKey, "plans")
	p, sold, err := h.catalogPlan(c)
	if err != nil {
		return err
	}
	f := views.PlanForm{Plan: p, Sold: sold}
	fillPlanForm(&f, p)
	return h.showPlanForm(c, http.StatusOK, f)
}

// sentForm reports whether the request carries the form's fields: a
// search or preset of the destinations, or a refused submit.
func sentForm(c echo.Context) bool {
	return c.FormValue("form") != "" || c.FormValue("dest_q") != "" || c.FormValue("preset") != "" || len(formValues(c, "dest")) > 0
}

func formValues(c echo.Context, name string) []string {
	if err := c.Request().ParseForm(); err != nil {
		return nil
	}
	return c.Request().Form[name]
}

func (h *Handlers) catalogPlan(c echo.Context) (db.Plan, int, error) {
	ctx := c.Request().Context()
	p, err := h.Store.PlanByCode(ctx, c.Param("code"))
	if err != nil {
		return p, 0, err
	}
	sold, err := h.Store.TimesSold(ctx, p.ID)
	return p, sold, err
}

func fillPlanForm(f *views.PlanForm, p db.Plan) {
	f.Code, f.Name, f.Region, f.Data, f.Currency, f.Profile, f.OnSale = p.Code, p.Name, p.Region, p.Data(), p.Currency, p.IMSIProfile, p.Active
	f.Price = fmt.Sprintf("%d.%02d", p.PriceCents/100, p.PriceCents%100)
	f.Destinations = slices.Clone(p.Destinations)
}

// showPlanForm renders the form f, first taking in what the request sent,
// if it sent the form.
func (h *Handlers) showPlanForm(c echo.Context, status int, f views.PlanForm) error {
	if sentForm(c) {
		readPlanForm(c, &f)
	}
	plans, err := h.Store.Plans(c.Request().Context(), true)
	if err != nil {
		return err
	}
	f.Regions = views.Regions(plans)
	if f.Forecasts, err = h.forecasts(c.Request().Context()); err != nil {
		return err
	}
	if isHTMX(c) {
		return h.render(c, status, views.PlanFormPanel(f))
	}
	return h.render(c, status, views.PlanFormPage(f))
}

// readPlanForm takes what the form sent into f: the destinations ticked,
// with a preset's countries added.
func readPlanForm(c echo.Context, f *views.PlanForm) {
	if !f.Editing() {
		f.Code = c.FormValue("code")
		f.OnSale = c.FormValue("on_sale") != ""
	}
	if c.FormValue("form") != "" {
		f.Name, f.Region, f.Data, f.Price, f.Currency = c.FormValue("name"), c.FormValue("region"), c.FormValue("data"), c.FormValue("price"), c.FormValue("currency")
		f.Profile, _ = strconv.Atoi(c.FormValue("imsi_profile"))
	}
	f.DestSearch = strings.Join(strings.Fields(c.FormValue("dest_q")), " ")
	f.Destinations = nil
	add := func(codes ...string) {
		for _, code := range codes {
			if rules.KnownCountry(code) && !slices.Contains(f.Destinations, code) {
				f.Destinations = append(f.Destinations, code)
			}
		}
	}
	add(formValues(c, "dest")...)
	if p, ok := rules.RegionPresetByName(c.FormValue("preset")); ok {
		add(p.Countries...)
	}
}

// planOfForm is the plan the form describes, over base (the plan edited),
// with every field that cannot be read refused; db.CleanPlan's refusals of
// the rest come after, so the form shows every field's at once.
func planOfForm(f views.PlanForm, base db.Plan, sold int) (db.Plan, db.Errors) {
	p := base
	var errs db.Errors
	refusal := func(err error) {
		if r := db.Refusals(err); r != nil {
			errs = append(errs, r...)
		}
	}
	if base.ID == 0 {
		p.Code, p.Active = f.Code, f.OnSale
	}
	p.Name, p.Region, p.Currency = f.Name, f.Region, f.Currency
	var err error
	p.PriceCents, err = db.ParsePrice(f.Price)
	refusal(err)
	// A sold plan's form does not show what is fixed: it stays as sold.
	if base.ID == 0 || sold == 0 {
		if p.DataMB, err = db.ParseData(f.Data); err != nil {
			refusal(err)
			p.DataMB = 1 // refused already: CleanPlan need not say it again
		}
		p.IMSIProfile, p.Destinations = f.Profile, f.Destinations
	}
	cleaned, more := db.CleanPlan(p)
	return cleaned, append(errs, more...)
}

// addPlanToCatalog adds the plan of the form.
func (h *Handlers) addPlanToCatalog(c echo.Context) error {
	c.Set(navKey, "plans")
	f := views.PlanForm{}
	readPlanForm(c, &f)
	p, errs := planOfForm(f, db.Plan{}, 0)
	var err error = errs
	if len(errs) == 0 {
		p, err = h.Store.AddPlanToCatalog(c.Request().Context(), p, login(c))
	}
	if refusals := formRefusals(err); refusals != nil {
		f.Errors = refusals.ByField()
		return h.showPlanForm(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	sale := "on sale"
	if !p.Active {
		sale = "not on sale yet"
	}
	return h.redirectWithFlash(c, "/plans?profile="+strconv.Itoa(p.IMSIProfile),
		fmt.Sprintf("%s (%s) added to the catalog on profile %d, %s.", p.Name, p.Code, p.IMSIProfile, sale))
}

// savePlan changes a plan by the rules of db/catalog.go.
func (h *Handlers) savePlan(c echo.Context) error {
	c.Set(navKey, "plans")
	base, sold, err := h.catalogPlan(c)
	if err != nil {
		return err
	}
	f := views.PlanForm{Plan: base, Sold: sold}
	fillPlanForm(&f, base)
	readPlanForm(c, &f)
	p, errs := planOfForm(f, base, sold)
	err = errs
	var res db.PlanChange
	if len(errs) == 0 {
		res, err = h.Store.SavePlan(c.Request().Context(), p, login(c))
	}
	if refusals := formRefusals(err); refusals != nil {
		f.Errors = refusals.ByField()
		return h.showPlanForm(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	msg := res.Plan.Name + ": nothing changed."
	if len(res.Changes) > 0 {
		msg = res.Plan.Name + " saved: " + strings.Join(res.Changes, "; ") + "."
	}
	return h.redirectWithFlash(c, "/plans/"+url.PathEscape(res.Plan.Code), msg)
}

// withdrawPlan takes a plan off sale; when no other plan on sale covers one
// of its countries, it asks first.
func (h *Handlers) withdrawPlan(c echo.Context) error {
	c.Set(navKey, "plans")
	ctx := c.Request().Context()
	p, sold, err := h.catalogPlan(c)
	if err != nil {
		return err
	}
	if c.FormValue("confirm") == "" && p.Active {
		only, err := h.Store.OnlyCover(ctx, p.Code)
		if err != nil {
			return err
		}
		if len(only) > 0 {
			return h.render(c, http.StatusOK, views.ConfirmPlanChange(views.PlanConfirm{Plan: p, Action: "withdraw",
				Warning: "After this, no plan covers " + joinNames(rules.CountryNames(only)) + ": Add line and Add plan will offer nothing there."}))
		}
	}
	if p, err = h.Store.WithdrawPlan(ctx, p.Code, login(c)); err != nil {
		return err
	}
	msg := p.Name + " withdrawn: Add line and Add plan no longer offer it."
	if sold > 0 {
		msg += " The plans already on eSIMs carry on."
	}
	return h.redirectWithFlash(c, "/plans/"+url.PathEscape(p.Code), msg)
}

// joinNames reads "Iceland", "Iceland and Norway", "Iceland, Norway and Sweden".
func joinNames(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func (h *Handlers) putPlanOnSale(c echo.Context) error {
	c.Set(navKey, "plans")
	p, err := h.Store.PutPlanOnSale(c.Request().Context(), c.Param("code"), login(c))
	if err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/plans/"+url.PathEscape(p.Code), p.Name+" is on sale again: Add line and Add plan offer it.")
}

// deletePlan deletes a plan never sold, after asking.
func (h *Handlers) deletePlan(c echo.Context) error {
	c.Set(navKey, "plans")
	p, _, err := h.catalogPlan(c)
	if err != nil {
		return err
	}
	if c.FormValue("confirm") == "" {
		return h.render(c, http.StatusOK, views.ConfirmPlanChange(views.PlanConfirm{Plan: p, Action: "delete",
			Warning: p.Name + " (" + p.Code + ") was never sold: deleting takes it out of the catalog for good."}))
	}
	if err := h.Store.DeletePlan(c.Request().Context(), p.Code, login(c)); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/plans", fmt.Sprintf("%s (%s) deleted from the catalog.", p.Name, p.Code))
}
