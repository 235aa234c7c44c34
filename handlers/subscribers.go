package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

func (h *Handlers) searchSubscribers(c echo.Context) error {
	c.Set(navKey, "subscribers")
	q := c.QueryParam("q")
	results, err := h.Store.SearchSubscribers(c.Request().Context(), q, views.SearchLimit)
	if err != nil {
		return err
	}
	// A search the agent submitted (not one typed live) that finds one
	// customer, or a whole ICCID, order number or account number of one
	// customer's, opens their profile. The live search shows that customer
	// above the list instead: it does not navigate away as the agent types.
	if c.QueryParam("go") != "" {
		if exact, ok := db.ExactMatch(results); ok {
			return redirect(c, fmt.Sprintf("/subscribers/%d", exact.ID), http.StatusOK)
		}
		if len(results) == 1 {
			return redirect(c, fmt.Sprintf("/subscribers/%d", results[0].ID), http.StatusOK)
		}
	}
	if strings.TrimSpace(q) == "" {
		// Nothing typed: the customers this agent opened last.
		for _, id := range h.recent.of(login(c).ID) {
			if sub, err := h.Store.Subscriber(c.Request().Context(), id); err == nil {
				results = append(results, db.Found{Subscriber: sub})
			}
		}
	}
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "results" {
		return h.render(c, http.StatusOK, views.SearchResults(q, results))
	}
	return h.render(c, http.StatusOK, views.SubscriberSearch(q, results))
}

func (h *Handlers) subscriberProfile(c echo.Context) error {
	c.Set(navKey, "subscribers")
	p, err := h.profile(c)
	if err != nil {
		return err
	}
	h.recent.note(login(c).ID, p.Subscriber.ID)
	return h.render(c, http.StatusOK, views.SubscriberProfile(p))
}

// profile gathers what the subscriber profile shows.
func (h *Handlers) profile(c echo.Context) (views.Profile, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return views.Profile{}, err
	}
	ctx := c.Request().Context()
	p, err := h.linesOf(ctx, id)
	if err != nil {
		return p, err
	}
	p.DomesticPlans, err = h.Store.DomesticPlans(ctx, id)
	return p, err
}

// linesOf gathers what the profile of subscriber id shows but its home
// plans: the eSIMs panel and the Emails panel.
func (h *Handlers) linesOf(ctx context.Context, id int64) (_ views.Profile, err error) {
	p := views.Profile{MailHeld: h.MailHeld, Now: h.Store.Now()}
	if p.Subscriber, err = h.Store.Subscriber(ctx, id); err != nil {
		return p, err
	}
	if p.Allowance, err = h.Store.Allowance(ctx, id); err != nil {
		return p, err
	}
	if p.Lines, err = h.Store.Lines(ctx, id); err != nil {
		return p, err
	}
	p.Emails, err = h.Store.EmailsForSubscriber(ctx, id)
	return p, err
}

// pathID reads a numeric path parameter; anything else is a page that does not exist.
func pathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, refuse(db.ErrNotFound, "")
	}
	return id, nil
}

// setPlanNotices turns the customer's plan notices off or on, at their
// request; the order emails go whatever it says.
func (h *Handlers) setPlanNotices(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	on := c.FormValue("on") == "true"
	ctx := c.Request().Context()
	if err := h.Store.SetPlanNotices(ctx, id, on, login(c)); err != nil {
		return err
	}
	sub, err := h.Store.Subscriber(ctx, id)
	if err != nil {
		return err
	}
	msg := "Plan notices are off for " + sub.Name + ": no emails about their plans' data and end. The QR code and order emails still go."
	if on {
		msg = "Plan notices are on for " + sub.Name + ": they hear when a plan starts, its data runs low or out, and before it ends."
	}
	return h.redirectWithFlash(c, fmt.Sprintf("/subscribers/%d", id), msg)
}

// overAllowanceLimit is how many subscribers over their allowance one page lists.
const overAllowanceLimit = 500

func (h *Handlers) overAllowancePage(c echo.Context) error {
	c.Set(navKey, "subscribers")
	list, err := h.Store.OverAllowance(c.Request().Context(), overAllowanceLimit)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.OverAllowance(list, overAllowanceLimit))
}
