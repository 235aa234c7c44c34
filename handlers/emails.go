package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/emails"
	"github.com/carrier/esim-admin/views"
)

// email is the outbox email named in the path, if the signed-in login may
// see it: the one rule for every view of an email, its page, its body, its
// QR image and its changes. An email to no subscriber (a low-stock warning
// to the team leads) is the team leads' only.
func (h *Handlers) email(c echo.Context) (db.Email, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return db.Email{}, err
	}
	e, err := h.Store.EmailByID(c.Request().Context(), id)
	if err != nil {
		return db.Email{}, err
	}
	if e.SubscriberID == 0 && login(c).Role != db.RoleLead {
		return db.Email{}, refuse(db.ErrForbidden, "")
	}
	return e, nil
}

// A QR email carries the eSIM's activation code, which installs it on any
// phone: its preview hides the code until the agent asks for it with Show
// the activation code, which the audit log records. That answer hands the
// preview frame a token of codeTokenPurpose, good for this email and this
// login for a few minutes, with which the frame loads the email with its
// code and its QR image. Without the token, the frame shows the email with
// the code hidden and no QR image is served.

const codeTokenPurpose = "activation-code"

func (h *Handlers) emailPreview(c echo.Context) error {
	e, err := h.email(c)
	if err != nil {
		return err
	}
	// After Show the activation code: the token lets the page show it
	// while it lasts; an expired one shows the email with the code hidden.
	token := c.QueryParam("code")
	if e.ActivationCode == "" || !h.codeTokenValid(c, e, token) {
		token = ""
	}
	return h.renderEmailPreview(c, e, token)
}

// showEmailCode records that the agent opened the activation code of a QR
// email, and sends the browser to the email with it (POST, redirect, GET:
// reloading the page or going back never posts again).
func (h *Handlers) showEmailCode(c echo.Context) error {
	e, err := h.email(c)
	if err != nil {
		return err
	}
	if e.ActivationCode == "" {
		return refuse(db.ErrNotFound, "")
	}
	if _, err := h.Store.ShowActivationCode(c.Request().Context(), e.ICCID, login(c), fmt.Sprintf("in QR email #%d", e.ID)); err != nil {
		return err
	}
	token, err := h.Sessions.Seal(codeTokenPurpose, codeTokenValue(e, login(c), h.Store.Now().Add(TokenAge)))
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/emails/%d?code=%s", e.ID, url.QueryEscape(token)))
}

// renderEmailPreview shows the email; a QR email's activation code only
// with token, which its frame then carries.
func (h *Handlers) renderEmailPreview(c echo.Context, e db.Email, token string) error {
	c.Set(navKey, "subscribers")
	if e.SubscriberID == 0 {
		// A low-stock email, to a team lead: it belongs with Insights.
		c.Set(navKey, "insights")
		return h.render(c, http.StatusOK, views.EmailPreview(e, db.Subscriber{}, h.MailHeld, ""))
	}
	sub, err := h.Store.Subscriber(c.Request().Context(), e.SubscriberID)
	if err != nil {
		return err
	}
	if e.ActivationCode != "" && token == "" {
		e.Message.Text = hideCode(e.Message.Text, e.ActivationCode)
	}
	return h.render(c, http.StatusOK, views.EmailPreview(e, sub, h.MailHeld, token))
}

// emailBody serves the email's HTML for the preview frame. A QR email's
// activation code and QR image are in it only with the token of the page
// that showed the code.
func (h *Handlers) emailBody(c echo.Context) error {
	e, err := h.email(c)
	if err != nil {
		return err
	}
	body := e.Message.HTML
	if e.ICCID != "" {
		qr := "cid:" + emails.QRContentID(e.ICCID)
		if token := c.QueryParam("code"); e.ActivationCode != "" && h.codeTokenValid(c, e, token) {
			body = strings.ReplaceAll(body, qr, "/emails/"+strconv.FormatInt(e.ID, 10)+"/qr.png?code="+url.QueryEscape(token))
		} else {
			body = emails.QRImage.ReplaceAllLiteralString(hideCode(body, e.ActivationCode), qrHidden)
		}
	}
	// Email HTML is styled inline, as mail clients require; it runs no script
	// and may only be framed by the preview page.
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'")
	c.Response().Header().Set("X-Frame-Options", "SAMEORIGIN")
	return c.HTML(http.StatusOK, body)
}

// qrHidden stands in the preview for a QR image not shown: the size of the
// image, saying why it is not there rather than showing a broken one.
const qrHidden = `<span data-testid="qr-hidden" style="display:inline-block;box-sizing:border-box;width:300px;max-width:100%;padding:110px 16px;` +
	`border:2px dashed #8a94a3;border-radius:8px;background:#f4f6f9;color:#2d3643;font:600 16px/1.4 Arial,sans-serif;text-align:center;">` +
	`QR code hidden — Show the activation code to see it</span>`

// emailQR serves the QR image of a QR email to the preview frame that holds
// the token for it; to anything else it is not there.
func (h *Handlers) emailQR(c echo.Context) error {
	e, err := h.email(c)
	if err != nil {
		return err
	}
	if e.ActivationCode == "" || !h.codeTokenValid(c, e, c.QueryParam("code")) {
		return refuse(db.ErrNotFound, "")
	}
	png, err := emails.QRCodePNG(e.ActivationCode)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "image/png", png)
}

// codeTokenValue is what a token to see the code of e says: for whom, and
// until when by the portal's clock.
func codeTokenValue(e db.Email, l db.Login, until time.Time) string {
	return fmt.Sprintf("email %d, login %d, until %d", e.ID, l.ID, until.Unix())
}

// codeTokenValid reports whether token lets the signed-in login see the
// activation code of the email e now.
func (h *Handlers) codeTokenValid(c echo.Context, e db.Email, token string) bool {
	value, ok := h.Sessions.Unseal(codeTokenPurpose, token)
	var id, loginID, until int64
	if !ok {
		return false
	}
	if _, err := fmt.Sscanf(value, "email %d, login %d, until %d", &id, &loginID, &until); err != nil {
		return false
	}
	return id == e.ID && loginID == login(c).ID && h.Store.Now().Unix() < until
}

// hideCode masks an activation code, and its matching ID wherever it stands
// alone, in an email's text or HTML.
func hideCode(s, code string) string {
	if code == "" {
		return s
	}
	const mask = "••••••••"
	s = strings.ReplaceAll(s, code, mask)
	if i := strings.LastIndex(code, "$"); i >= 0 && i+1 < len(code) {
		s = strings.ReplaceAll(s, code[i+1:], mask)
	}
	return s
}

func (h *Handlers) resendQR(c echo.Context) error {
	l, err := h.Store.ResendQR(c.Request().Context(), c.Param("iccid"), login(c))
	if err != nil {
		return err
	}
	h.MailQueued()
	msg := fmt.Sprintf("QR code email for line “%s” queued again.", l.LineName)
	if isHTMX(c) {
		return h.lineChanged(c, l.ICCID, msg)
	}
	return h.redirectWithFlash(c, fmt.Sprintf("/subscribers/%d", l.SubscriberID), msg)
}

// lineChanged answers a change made from a line card with the line, a note
// of what changed, and the panels of the page that the change touches: the
// emails of the eSIM on its own page, else the subscriber's, and the
// eSIM page's timeline.
func (h *Handlers) lineChanged(c echo.Context, iccid, note string) error {
	ctx := c.Request().Context()
	line, err := h.Store.ESIM(ctx, iccid)
	if err != nil {
		return err
	}
	sub, err := h.Store.Subscriber(ctx, line.SubscriberID)
	if err != nil {
		return err
	}
	var (
		emails   []db.Email
		timeline []db.TimelineEvent
	)
	onESIMPage := onESIMPage(c, iccid)
	if onESIMPage {
		if emails, err = h.Store.EmailsForESIM(ctx, iccid); err != nil {
			return err
		}
		if timeline, err = h.Store.Timeline(ctx, iccid); err != nil {
			return err
		}
	} else if emails, err = h.Store.EmailsForSubscriber(ctx, line.SubscriberID); err != nil {
		return err
	}
	c.Response().Header().Set("HX-Retarget", "#line-"+iccid)
	c.Response().Header().Set("HX-Reswap", "outerHTML")
	return h.render(c, http.StatusOK, views.LineUpdate(line, h.Store.Now(), note, sub.Status, emails, h.MailHeld, timeline, onESIMPage))
}

// onESIMPage reports whether an HTMX request comes from the eSIM's own page.
func onESIMPage(c echo.Context, iccid string) bool { return onPage(c, "/esims/"+iccid) }

// onPage reports whether an HTMX request comes from the page at path.
func onPage(c echo.Context, path string) bool {
	u, err := url.Parse(c.Request().Header.Get("HX-Current-URL"))
	return err == nil && u.Path == path
}

func (h *Handlers) retryEmail(c echo.Context) error {
	e, err := h.email(c)
	if err != nil {
		return err
	}
	e, err = h.Store.RetryEmail(c.Request().Context(), e.ID, login(c))
	if err != nil {
		return err
	}
	h.MailQueued()
	if isHTMX(c) {
		return h.render(c, http.StatusOK, templ.Join(views.EmailRow(e, h.MailHeld), views.Announce("Email queued again.")))
	}
	if e.SubscriberID == 0 {
		return h.redirectWithFlash(c, "/insights#email-health", "Email queued again.")
	}
	return h.redirectWithFlash(c, fmt.Sprintf("/subscribers/%d", e.SubscriberID), "Email queued again.")
}
