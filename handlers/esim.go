package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/rules"
	"github.com/carrier/esim-admin/views"
)

func (h *Handlers) esimPage(c echo.Context) error {
	return h.renderESIMPage(c, false)
}

// showESIMCode records in the audit log that the agent opened the eSIM's
// activation code, and shows it: in its panel for HTMX, else on the page.
func (h *Handlers) showESIMCode(c echo.Context) error {
	e, err := h.Store.ShowActivationCode(c.Request().Context(), c.Param("iccid"), login(c), "on the eSIM's page")
	if err != nil {
		return err
	}
	if isHTMX(c) {
		return h.render(c, http.StatusOK, views.ActivationCode(e, true))
	}
	return h.renderESIMPage(c, true)
}

// renderESIMPage shows the eSIM's page, its activation code only if
// showCode.
func (h *Handlers) renderESIMPage(c echo.Context, showCode bool) error {
	c.Set(navKey, "esims")
	ctx := c.Request().Context()
	e, err := h.Store.ESIM(ctx, c.Param("iccid"))
	if err != nil {
		return err
	}
	d := views.ESIMDetail{ESIM: e, MailHeld: h.MailHeld, Now: h.Store.Now(), ShowCode: showCode}
	var sub *db.Subscriber
	if e.State == db.StateAllocated {
		s, err := h.Store.Subscriber(ctx, e.SubscriberID)
		if err != nil {
			return err
		}
		sub = &s
		d.Subscriber = sub
	}
	if e.ReplacedBy != "" {
		// A replaced eSIM stays the customer's history: the page says whose
		// line it was.
		if l, ok, err := h.Store.FormerLine(ctx, e.ICCID); err != nil {
			return err
		} else if ok {
			d.FormerLine = &l
		}
	}
	if e.State == db.StateAllocated || e.ReplacedBy != "" {
		if d.Emails, err = h.Store.EmailsForESIM(ctx, e.ICCID); err != nil {
			return err
		}
		if d.Timeline, err = h.Store.Timeline(ctx, e.ICCID); err != nil {
			return err
		}
	}
	d.Back = backTo(c.Request(), sub)
	return h.render(c, http.StatusOK, views.ESIMPage(d))
}

// backTo is where the eSIM page's breadcrumb leads: the page of the portal
// it was opened from (the Referer, which the portal's Referrer-Policy keeps
// to its own pages), else the eSIM List. Only paths of known pages are
// taken, never a host.
func backTo(r *http.Request, sub *db.Subscriber) views.Crumb {
	list := views.Crumb{URL: "/esims", Label: "eSIM List"}
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host != r.Host {
		return list
	}
	back := ref.Path
	if ref.RawQuery != "" {
		back += "?" + ref.RawQuery
	}
	switch {
	case ref.Path == "/esims":
		return views.Crumb{URL: back, Label: "eSIM List"}
	case ref.Path == "/subscribers":
		return views.Crumb{URL: back, Label: "Subscribers"}
	case ref.Path == "/audit":
		return views.Crumb{URL: back, Label: "Audit log"}
	case strings.HasPrefix(ref.Path, "/subscribers/"):
		id, err := strconv.ParseInt(strings.TrimPrefix(ref.Path, "/subscribers/"), 10, 64)
		if err != nil {
			return list
		}
		if sub != nil && sub.ID == id {
			return views.Crumb{URL: ref.Path, Label: sub.Name}
		}
		return views.Crumb{URL: ref.Path, Label: "Subscriber"}
	case strings.HasPrefix(ref.Path, "/emails/"):
		if _, err := strconv.ParseInt(strings.TrimPrefix(ref.Path, "/emails/"), 10, 64); err == nil {
			return views.Crumb{URL: ref.Path, Label: "Email"}
		}
	}
	return list
}

// simulateAttach stands in for the network in the demo: the line's phone
// attaches in the chosen country now, through the same rule as a real report.
func (h *Handlers) simulateAttach(c echo.Context) error {
	iccid := c.Param("iccid")
	r, err := h.Store.Attach(c.Request().Context(), db.Attach{ICCID: iccid, Country: c.FormValue("country"), AttachedAt: h.Store.Now(), By: login(c)})
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Simulated a connection in %s. ", rules.CountryName(r.Attachment.Country))
	if lp := r.Activated; lp != nil {
		msg += fmt.Sprintf("%s (order %s) started and runs until %s.", lp.Plan.Name, lp.OrderNumber, rules.DateTime(lp.ExpiresAt))
	} else {
		msg += "No plan started: " + r.Reason + "."
	}
	return h.redirectWithFlash(c, "/esims/"+iccid, msg)
}

// retireESIM takes a free eSIM out of stock for good. Refused from the
// button (HTMX), the message takes the button's place.
func (h *Handlers) retireESIM(c echo.Context) error {
	iccid := c.Param("iccid")
	e, err := h.Store.RetireESIM(c.Request().Context(), iccid, login(c))
	var refusal *db.Error
	if errors.As(err, &refusal) && isHTMX(c) {
		return h.render(c, http.StatusUnprocessableEntity, views.RetireRefused(refusal.Message))
	}
	if err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/esims/"+e.ICCID, fmt.Sprintf("eSIM %s retired: it is out of stock for good.", e.ICCID))
}
