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

// addPlanForm shows the Add plan form of a line. When the chosen plan needs
// another IMSI profile, the form says so at once, before any submit.
func (h *Handlers) addPlanForm(c echo.Context) error {
	c.Set(navKey, "subscribers")
	f, err := h.planForm(c)
	if err != nil {
		return err
	}
	// A new token each time the form is shown: it is never read from the
	// address, where a shared link would carry it.
	f.Token, f.Opening = rand.Text(), c.QueryParam("refresh") == ""
	if p, ok := f.Misfit(); ok {
		f.Errors = map[string]string{"plan": db.ProfileMismatch(p, f.Line.IMSIProfile).Message}
	}
	// Billing's suspension or closing is said as the form opens, not after it is filled in.
	if e := db.RefuseForStatus(f.Subscriber, true); e != nil {
		f.Errors = map[string]string{"": e.Message}
	}
	return h.renderPlanForm(c, http.StatusOK, f)
}

func (h *Handlers) addPlan(c echo.Context) error {
	c.Set(navKey, "subscribers")
	ctx := c.Request().Context()
	subscriberID, _ := strconv.ParseInt(c.FormValue("subscriber"), 10, 64)
	planID, _ := strconv.ParseInt(c.FormValue("plan"), 10, 64)
	order, err := h.Store.AddPlan(ctx, db.AddPlan{ICCID: c.Param("iccid"), SubscriberID: subscriberID, PlanID: planID, Token: c.Request().PostFormValue("token"), By: login(c)})
	if refusals := formRefusals(err); refusals != nil {
		// Only a refusal needs the whole form, shown again with the choice made.
		f, err := h.planForm(c)
		if err != nil {
			return err
		}
		f.Errors, f.Refused = refusals.ByField(), true
		renewTakenToken(f.Errors, &f.Token)
		return h.renderPlanForm(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	if !order.Replayed {
		h.MailQueued()
	}
	msg := fmt.Sprintf("%s added to line “%s”, order %s. The order confirmation is on its way to %s.",
		order.PlanName, order.LineName, order.OrderNumber, order.Email)
	if !isHTMX(c) {
		return h.redirectWithFlash(c, fmt.Sprintf("/subscribers/%d", order.SubscriberID), msg)
	}
	// The line updates in place, wherever it is shown, and so do the
	// emails with the new confirmation.
	return h.lineChanged(c, order.ICCID, msg)
}

// planForm reads the Add plan form of the line in the path.
func (h *Handlers) planForm(c echo.Context) (views.AddPlanForm, error) {
	ctx := c.Request().Context()
	f := views.AddPlanForm{Token: c.Request().PostFormValue("token"), Country: views.NewCountryBox(c.FormValue("country"), c.FormValue("narrowed") != "")}
	f.PlanID, _ = strconv.ParseInt(c.FormValue("plan"), 10, 64)
	var err error
	f.Now = h.Store.Now()
	if f.Line, err = h.Store.ESIM(ctx, c.Param("iccid")); err != nil {
		return f, err
	}
	f.OnProfile = onPage(c, fmt.Sprintf("/subscribers/%d", f.Line.SubscriberID))
	if err := db.CheckLine(f.Line); err != nil {
		return f, err
	}
	if f.Subscriber, err = h.Store.Subscriber(ctx, f.Line.SubscriberID); err != nil {
		return f, err
	}
	if f.Allowance, err = h.Store.Allowance(ctx, f.Subscriber.ID); err != nil {
		return f, err
	}
	if f.Plans, err = h.Store.Plans(ctx, false); err != nil {
		return f, err
	}
	// What a plan of another profile needs instead: another line of that
	// profile, or a new line, which takes allowance and stock. Only such a
	// plan shows them, and the form is read again at every keystroke in its
	// country box.
	if _, misfit := f.Misfit(); misfit {
		if f.Lines, err = h.Store.Lines(ctx, f.Subscriber.ID); err != nil {
			return f, err
		}
		f.InStock, err = h.Store.InStock(ctx)
	}
	return f, err
}

func (h *Handlers) renderPlanForm(c echo.Context, status int, f views.AddPlanForm) error {
	if isHTMX(c) {
		return h.render(c, status, views.AddPlan(f))
	}
	return h.render(c, status, views.AddPlanPage(f))
}
