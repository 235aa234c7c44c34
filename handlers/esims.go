package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

func (h *Handlers) esimPage(c echo.Context) error {
	c.Set(navKey, "esims")
	ctx := c.Request().Context()
	e, err := h.Store.ESIM(ctx, c.Param("iccid"))
	if err != nil {
		return err
	}
	d := views.ESIMDetail{ESIM: e, MailHeld: h.MailHeld, Now: h.Store.Now()}
	if e.State == db.StateAllocated {
		sub, err := h.Store.Subscriber(ctx, e.SubscriberID)
		if err != nil {
			return err
		}
		d.Subscriber = &sub
		if d.Emails, err = h.Store.EmailsForESIM(ctx, e.ICCID); err != nil {
			return err
		}
	}
	return h.render(c, http.StatusOK, views.ESIMPage(d))
}
