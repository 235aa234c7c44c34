package handlers

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

// The support toolkit on a line: Cancel plan, Replace eSIM, Rename. Each
// form opens in the line (HTMX) or on a page of its own; a refusal shows it
// again with the refusals beside their fields (422); a done change shows the
// line again with a note, or goes to the profile with a flash without HTMX.

// lineTool reads the line in the path, which must be somebody's.
func (h *Handlers) lineTool(c echo.Context) (views.LineToolForm, error) {
	c.Set(navKey, "subscribers")
	line, err := h.Store.ESIM(c.Request().Context(), c.Param("iccid"))
	if err != nil {
		return views.LineToolForm{}, err
	}
	if err := db.CheckLine(line); err != nil {
		return views.LineToolForm{}, err
	}
	return views.LineToolForm{Line: line, Reason: c.FormValue("reason"), Note: c.FormValue("note"), Name: line.LineName}, nil
}

// renderLineTool answers with a toolkit form, in the line or on a page.
func (h *Handlers) renderLineTool(c echo.Context, status int, title string, f views.LineToolForm, form func(views.LineToolForm) templ.Component) error {
	if isHTMX(c) {
		return h.render(c, status, form(f))
	}
	return h.render(c, status, views.LineToolPage(title, f, form(f)))
}

// toolDone shows the changed line with its note in place (HTMX), or the
// profile with the note as its flash.
func (h *Handlers) toolDone(c echo.Context, line db.ESIM, msg string) error {
	if isHTMX(c) {
		return h.lineChanged(c, line.ICCID, msg)
	}
	return h.redirectWithFlash(c, fmt.Sprintf("/subscribers/%d", line.SubscriberID), msg)
}

// linePlan finds the plan in the path on the form's line.
func linePlan(c echo.Context, f *views.LineToolForm) error {
	id, err := strconv.ParseInt(c.Param("plan"), 10, 64)
	if i := slices.IndexFunc(f.Line.Plans, func(lp db.LinePlan) bool { return lp.ID == id }); err == nil && i >= 0 {
		f.Plan = f.Line.Plans[i]
		return nil
	}
	return echo.ErrNotFound
}

func (h *Handlers) cancelPlanForm(c echo.Context) error {
	f, err := h.lineTool(c)
	if err == nil {
		err = linePlan(c, &f)
	}
	if err != nil {
		return err
	}
	if f.Plan.State != db.PlanQueued {
		return &db.Error{Code: db.ErrConflict, Message: fmt.Sprintf("%s (order %s) has started or ended: only a plan that has not started can be cancelled.",
			f.Plan.Plan.Name, f.Plan.OrderNumber)}
	}
	return h.renderLineTool(c, http.StatusOK, "Cancel plan", f, views.CancelPlanForm)
}

// cancelPlan cancels a plan that has not started; a started plan is refused
// with 409 whatever the form sent.
func (h *Handlers) cancelPlan(c echo.Context) error {
	f, err := h.lineTool(c)
	if err == nil {
		err = linePlan(c, &f)
	}
	if err != nil {
		return err
	}
	lp, err := h.Store.CancelPlan(c.Request().Context(), db.CancelPlan{ICCID: f.Line.ICCID, PlanID: f.Plan.ID,
		Reason: f.Reason, Note: f.Note, By: login(c)})
	if db.ErrorCode(err) == db.ErrInvalid {
		f.Errors = db.Refusals(err).ByField()
		return h.renderLineTool(c, http.StatusUnprocessableEntity, "Cancel plan", f, views.CancelPlanForm)
	}
	if err != nil {
		return err
	}
	h.MailQueued()
	return h.toolDone(c, f.Line, fmt.Sprintf("%s (order %s) cancelled. The customer gets an email that confirms it.", lp.Plan.Name, lp.OrderNumber))
}

func (h *Handlers) replaceESIMForm(c echo.Context) error {
	f, err := h.lineTool(c)
	if err != nil {
		return err
	}
	return h.renderLineTool(c, http.StatusOK, "Replace eSIM", f, views.ReplaceESIMForm)
}

// replaceESIM gives the line a new eSIM; with no free eSIM of its profile
// the form says so, and nothing changes.
func (h *Handlers) replaceESIM(c echo.Context) error {
	f, err := h.lineTool(c)
	if err != nil {
		return err
	}
	fresh, err := h.Store.ReplaceESIM(c.Request().Context(), f.Line.ICCID, f.Reason, login(c))
	if code := db.ErrorCode(err); code == db.ErrInvalid || code == db.ErrOutOfStock {
		f.Errors = db.Refusals(err).ByField()
		return h.renderLineTool(c, http.StatusUnprocessableEntity, "Replace eSIM", f, views.ReplaceESIMForm)
	}
	if err != nil {
		return err
	}
	h.MailQueued()
	msg := fmt.Sprintf("Line “%s” now has eSIM %s, with its plans. The QR code of the new eSIM is on its way to the customer; eSIM %s no longer works.",
		fresh.LineName, fresh.ICCID, f.Line.ICCID)
	// On the profile the line shows its new eSIM, among the lines in the
	// order they were given (the new eSIM is the newest). The old eSIM's
	// own page is history now: the new eSIM's page takes over.
	if isHTMX(c) && !onESIMPage(c, f.Line.ICCID) {
		return h.linesChanged(c, fresh, msg)
	}
	if isHTMX(c) {
		return h.redirectWithFlash(c, "/esims/"+fresh.ICCID, msg)
	}
	return h.redirectWithFlash(c, fmt.Sprintf("/subscribers/%d", fresh.SubscriberID), msg)
}

func (h *Handlers) renameLineForm(c echo.Context) error {
	f, err := h.lineTool(c)
	if err != nil {
		return err
	}
	return h.renderLineTool(c, http.StatusOK, "Rename line", f, views.RenameLineForm)
}

func (h *Handlers) renameLine(c echo.Context) error {
	f, err := h.lineTool(c)
	if err != nil {
		return err
	}
	f.Name = c.FormValue("line_name")
	line, err := h.Store.RenameLine(c.Request().Context(), f.Line.ICCID, f.Name, login(c))
	if db.ErrorCode(err) == db.ErrInvalid {
		f.Errors = db.Refusals(err).ByField()
		return h.renderLineTool(c, http.StatusUnprocessableEntity, "Rename line", f, views.RenameLineForm)
	}
	if err != nil {
		return err
	}
	return h.toolDone(c, line, fmt.Sprintf("Line “%s” is now called “%s”.", f.Line.LineName, line.LineName))
}

// linesChanged answers a change that moved a line on the profile (Replace
// eSIM gives it a new eSIM, given last) with the eSIMs panel, the note on
// the line, and the Emails panel out of band.
func (h *Handlers) linesChanged(c echo.Context, line db.ESIM, note string) error {
	p, err := h.linesOf(c.Request().Context(), line.SubscriberID)
	if err != nil {
		return err
	}
	p.Note, p.NoteOn = note, line.ICCID
	c.Response().Header().Set("HX-Retarget", "#esims")
	c.Response().Header().Set("HX-Reswap", "outerHTML")
	return h.render(c, http.StatusOK, views.LinesUpdate(p))
}
