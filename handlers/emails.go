package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/emails"
	"github.com/carrier/esim-admin/views"
)

// email is the outbox email named in the path.
func (h *Handlers) email(c echo.Context) (db.Email, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return db.Email{}, err
	}
	return h.Store.EmailByID(c.Request().Context(), id)
}

func (h *Handlers) emailPreview(c echo.Context) error {
	c.Set(navKey, "subscribers")
	e, err := h.email(c)
	if err != nil {
		return err
	}
	if e.SubscriberID == 0 {
		// A low-stock email, to a team lead: it belongs with Insights.
		if login(c).Role != db.RoleLead {
			return echo.NewHTTPError(http.StatusForbidden)
		}
		c.Set(navKey, "insights")
		return h.render(c, http.StatusOK, views.EmailPreview(e, db.Subscriber{}, h.MailHeld))
	}
	sub, err := h.Store.Subscriber(c.Request().Context(), e.SubscriberID)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.EmailPreview(e, sub, h.MailHeld))
}

// emailBody serves the email's HTML for the preview frame, with the inline QR
// image pointed at a URL the browser can load.
func (h *Handlers) emailBody(c echo.Context) error {
	e, err := h.email(c)
	if err != nil {
		return err
	}
	body := e.Message.HTML
	if e.ICCID != "" {
		body = strings.ReplaceAll(body, "cid:"+emails.QRContentID(e.ICCID), "/emails/"+c.Param("id")+"/qr.png")
	}
	// Email HTML is styled inline, as mail clients require; it runs no script
	// and may only be framed by the preview page.
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'")
	c.Response().Header().Set("X-Frame-Options", "SAMEORIGIN")
	return c.HTML(http.StatusOK, body)
}

func (h *Handlers) emailQR(c echo.Context) error {
	e, err := h.email(c)
	if err != nil {
		return err
	}
	if e.ActivationCode == "" {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	png, err := emails.QRCodePNG(e.ActivationCode)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=3600")
	return c.Blob(http.StatusOK, "image/png", png)
}

func (h *Handlers) resendQR(c echo.Context) error {
	l, err := h.Store.ResendQR(c.Request().Context(), c.Param("iccid"), login(c))
	if err != nil {
		return err
	}
	h.MailQueued()
	return h.redirectWithFlash(c, fmt.Sprintf("/subscribers/%d", l.SubscriberID),
		fmt.Sprintf("QR code email for line “%s” queued again.", l.LineName))
}

func (h *Handlers) retryEmail(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	e, err := h.Store.RetryEmail(c.Request().Context(), id, login(c))
	if err != nil {
		return err
	}
	h.MailQueued()
	if isHTMX(c) {
		return h.render(c, http.StatusOK, views.EmailRow(e, h.MailHeld))
	}
	if e.SubscriberID == 0 {
		return h.redirectWithFlash(c, "/insights#email-health", "Email queued again.")
	}
	return h.redirectWithFlash(c, fmt.Sprintf("/subscribers/%d", e.SubscriberID), "Email queued again.")
}
