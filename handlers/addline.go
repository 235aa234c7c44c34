package handlers

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

// addLineForm shows the Add line form: a fragment for HTMX (also when the
// chosen plan changes), a page of its own otherwise.
func (h *Handlers) addLineForm(c echo.Context) error {
	c.Set(navKey, "subscribers")
	f, err := h.lineForm(c)
	if err != nil {
		return err
	}
	// A new token each time the form is shown: it is never read from the
	// address, where a shared link would carry it.
	f.Token = rand.Text()
	f.Opening = c.QueryParam("refresh") == "" && !f.Ready
	return h.renderForm(c, http.StatusOK, f)
}

func (h *Handlers) addLine(c echo.Context) error {
	c.Set(navKey, "subscribers")
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	planID, _ := strconv.ParseInt(c.FormValue("plan"), 10, 64)
	order, err := h.Store.AddLine(c.Request().Context(), db.AddLine{
		SubscriberID: id, LineName: c.FormValue("line_name"), PlanID: planID, Token: c.Request().PostFormValue("token"), By: login(c),
	})
	if refusals := formRefusals(err); refusals != nil {
		// Only a refusal needs the whole form, shown again with what was typed.
		f, err := h.lineForm(c)
		if err != nil {
			return err
		}
		f.Errors = refusals.ByField()
		renewTakenToken(f.Errors, &f.Token)
		return h.renderForm(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	if !order.Replayed {
		h.Metrics.allocations.Inc()
		h.MailQueued()
	}
	msg := fmt.Sprintf("Line “%s” added: eSIM %s (profile %d) with %s, order %s. The QR code and the order confirmation are on their way to %s.",
		order.LineName, order.ICCID, order.IMSIProfile, order.PlanName, order.OrderNumber, order.Email)
	return h.redirectWithFlash(c, fmt.Sprintf("/subscribers/%d", order.SubscriberID), msg)
}

// lineForm reads the Add line form from the request, with what the form shows.
func (h *Handlers) lineForm(c echo.Context) (views.AddLineForm, error) {
	ctx := c.Request().Context()
	id, err := pathID(c, "id")
	if err != nil {
		return views.AddLineForm{}, err
	}
	f := views.AddLineForm{LineName: c.FormValue("line_name"), LineNameAuto: c.FormValue("line_name_auto"), Token: c.Request().PostFormValue("token"),
		Country: views.NewCountryBox(c.FormValue("country"), c.FormValue("narrowed") != "")}
	f.PlanID, _ = strconv.ParseInt(c.FormValue("plan"), 10, 64)
	f.Country.All = c.FormValue("all") != ""
	f.Ready = c.QueryParam("ready") != ""
	if f.Subscriber, err = h.Store.Subscriber(ctx, id); err != nil {
		return f, err
	}
	if f.Allowance, err = h.Store.Allowance(ctx, id); err != nil {
		return f, err
	}
	if f.Plans, err = h.Store.Plans(ctx, false); err != nil {
		return f, err
	}
	// The line is named after the country the customer goes to, unless the
	// agent typed a name of their own; with no country, after the plan Add
	// plan's way out comes with (its one country, or its region). A submit
	// shows what was sent.
	if c.Request().Method == http.MethodGet {
		switch name := f.Country.Name(); {
		case name != "" && (f.LineName == "" || f.LineName == f.LineNameAuto):
			f.LineName, f.LineNameAuto = name, name
		case name == "" && f.Ready && f.LineName == "":
			f.LineName = f.PlanLineName()
			f.LineNameAuto = f.LineName
		}
	}
	f.Lines, err = h.Store.Lines(ctx, id)
	return f, err
}

func (h *Handlers) renderForm(c echo.Context, status int, f views.AddLineForm) error {
	if isHTMX(c) {
		return h.render(c, status, views.AddLine(f))
	}
	return h.render(c, status, views.AddLinePage(f))
}

// renewTakenToken gives a form a new one-time token when the store refused
// its token as another login's, and shows that refusal at the form's top.
// Any other refusal keeps the token, under which nothing was kept yet.
func renewTakenToken(errs map[string]string, token *string) {
	if msg, ok := errs["token"]; ok {
		errs[""], *token = msg, rand.Text()
	}
}

// formTokenLen is the length of a form's one-time token, which makes a
// repeated submit harmless: a crypto/rand.Text.
const formTokenLen = 26
