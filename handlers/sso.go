package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/signin"
	"github.com/carrier/esim-admin/views"
)

// Sign-in through the carrier's identity provider (package signin). The
// sign-in under way lives in a sealed cookie of the browser between
// /login/oidc and its callback (KeepSignIn), and is used once: a replayed
// callback finds none. Once the provider's answer is verified, the portal's
// own session starts as after a password, under a new id.

// pendingSignIn is the sign-in under way, and the page to go to after it.
type pendingSignIn struct {
	Flow signin.Flow
	Next string
}

// Session values of single sign-on.
const (
	// ssoAtKey is when the provider last signed this session's login in:
	// a change that asks a password login for its password again asks an
	// SSO login for a recent sign-in instead.
	ssoAtKey = "sso_at"
	// ssoTokenKey is the ID token, the hint of the sign-out at the provider.
	// It stays in the sessions table, never in a cookie or a log.
	ssoTokenKey = "sso_id_token"
)

// ssoRecent is how recent a sign-in through the provider must be to stand
// for a password typed again.
const ssoRecent = 10 * time.Minute

// ssoStatusOf is the HTTP status of each way a sign-in through the provider
// fails.
func ssoStatusOf(kind signin.Kind) int {
	switch kind {
	case signin.ProviderDown:
		return http.StatusBadGateway
	case signin.BadState:
		return http.StatusBadRequest
	}
	return http.StatusUnauthorized // signin.Denied, signin.BadToken
}

// startSSO sends the browser to the identity provider, with a new sign-in
// kept in its sealed cookie.
func (h *Handlers) startSSO(c echo.Context) error {
	if h.SSO == nil {
		return echo.ErrNotFound
	}
	next := safeNext(c.QueryParam("next"))
	if _, ok, err := h.currentLogin(c); err != nil {
		return err
	} else if ok {
		return c.Redirect(http.StatusSeeOther, next)
	}
	ctx := c.Request().Context()
	flow, authURL, err := h.SSO.Start(ctx)
	if err != nil {
		return h.ssoFailed(c, next, err)
	}
	if err := h.Sessions.KeepSignIn(c.Response(), pendingSignIn{Flow: flow, Next: next}); err != nil {
		return err
	}
	return c.Redirect(http.StatusFound, authURL)
}

// finishSSO is the provider's callback: the sign-in under way is taken out
// of the session before anything else, then checked, and the person signed
// in with the role their groups give, or refused.
func (h *Handlers) finishSSO(c echo.Context) error {
	if h.SSO == nil {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	var pending pendingSignIn
	h.Sessions.TakeSignIn(c.Request(), c.Response(), &pending) // none leaves an empty state, which Finish refuses
	next := safeNext(pending.Next)
	person, err := h.SSO.Finish(ctx, pending.Flow, c.QueryParams())
	if err != nil {
		return h.ssoFailed(c, next, err)
	}
	role, ok := h.SSO.Role(person.Groups)
	if !ok {
		lead, agent := h.SSO.Groups()
		reason := fmt.Sprintf("in none of the groups %s", strings.Join(append(append([]string{}, agent...), lead...), ", "))
		h.Log.Warn("single sign-on refused", "subject", person.Identity.Subject, "reason", reason, "request_id", requestID(c))
		if err := h.Store.RecordSSORefusal(ctx, person.Identity, reason); err != nil {
			return err
		}
		return h.render(c, http.StatusForbidden, views.SSOSignInPage(views.SSOSignIn{Next: next,
			Error:      "You signed in at the identity provider, but you are in none of the groups that may use the portal.",
			LeadGroups: lead, AgentGroups: agent}))
	}
	l, err := h.Store.SignInSSO(ctx, person.Identity, role)
	if refusals := db.Refusals(err); refusals != nil {
		h.Log.Warn("single sign-on refused", "subject", person.Identity.Subject, "reason", refusals.Error(), "request_id", requestID(c))
		if err := h.Store.RecordSSORefusal(ctx, person.Identity, refusals.Error()); err != nil {
			return err
		}
		return h.render(c, statusOf(refusals[0].Code), views.SSOSignInPage(views.SSOSignIn{Next: next, Error: refusals.Error()}))
	}
	if err != nil {
		return err
	}
	if err := h.startSessionWith(ctx, c, l.ID, map[any]any{ssoAtKey: h.Store.Now().Unix(), ssoTokenKey: person.IDToken}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// ssoFailed shows the person why they are not signed in, and logs the
// detail for the operator; never the token.
func (h *Handlers) ssoFailed(c echo.Context, next string, err error) error {
	var e *signin.Error
	if !errors.As(err, &e) {
		return err
	}
	h.Log.Warn("single sign-on failed", "err", err, "request_id", requestID(c))
	h.Metrics.signinFailures.Inc()
	return h.render(c, ssoStatusOf(e.Kind), views.SSOSignInPage(views.SSOSignIn{Next: next, Error: e.Message()}))
}

// ssoOnly shows the sign-in page without the password form when password
// sign-in is off; a break-glass login finds the form at /login?break-glass.
func (h *Handlers) ssoOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !h.PasswordOff || h.SSO == nil || c.QueryParams().Has("break-glass") {
			return next(c)
		}
		if _, ok, err := h.currentLogin(c); err != nil {
			return err
		} else if ok {
			return c.Redirect(http.StatusSeeOther, "/subscribers")
		}
		return h.render(c, http.StatusOK, views.SSOSignInPage(views.SSOSignIn{Next: safeNext(c.QueryParam("next"))}))
	}
}

// passwordRefused says why a right password does not sign in: password
// sign-in is off, and the login is not break-glass; "" when it may.
func (h *Handlers) passwordRefused(l db.Login) string {
	if !h.PasswordOff || l.BreakGlass {
		return ""
	}
	return "Password sign-in is off: sign in with your company account."
}

// signedOutURL is where the browser goes once its session has ended: the
// provider's end-session address when the session began there, so the
// person is signed out of the provider too, else the sign-in page.
func (h *Handlers) signedOutURL(ctx context.Context, values map[any]any) string {
	if h.SSO != nil {
		if token, ok := values[ssoTokenKey].(string); ok {
			if u := h.SSO.SignOutURL(ctx, token); u != "" {
				return u
			}
		}
	}
	return "/login"
}

// recentSSO reports whether the provider signed this session's login in,
// and whether that was recent enough to stand for a password typed again.
func (h *Handlers) recentSSO(c echo.Context) (sso, recent bool, err error) {
	session, err := h.Sessions.Get(c.Request(), h.CookieName)
	if err != nil {
		return false, false, err
	}
	at, ok := session.Values[ssoAtKey].(int64)
	if !ok {
		return false, false, nil
	}
	return true, h.Store.Now().Sub(time.Unix(at, 0)) <= ssoRecent, nil
}

// contentSecurityPolicy lets forms lead to the identity provider too: the
// sign-out form's answer sends the browser to its end-session address.
func (h *Handlers) contentSecurityPolicy() string {
	if h.SSO == nil {
		return contentSecurityPolicy
	}
	return contentSecurityPolicy + " " + h.SSO.Origin()
}

// setBreakGlass marks a login as break-glass, or ordinary again: confirmed
// as the other changes that could take a login over.
func (h *Handlers) setBreakGlass(c echo.Context) error {
	l, err := h.managedLogin(c)
	if err != nil {
		return err
	}
	if err := h.confirmPassword(c, "your_password"); err != nil {
		return h.refusedLogin(c, l, "break-glass", err)
	}
	on := c.FormValue("break_glass") == "true"
	if err := h.Store.SetBreakGlass(c.Request().Context(), l.ID, on, login(c)); err != nil {
		return h.refusedLogin(c, l, "break-glass", err)
	}
	msg := fmt.Sprintf("%s is an ordinary login again.", l.Name)
	if on {
		msg = fmt.Sprintf("%s is a break-glass login: it signs in with its password even when password sign-in is off.", l.Name)
	}
	return h.redirectWithFlash(c, "/users", msg)
}

// refuseSSOPassword refuses Change password to a session the identity
// provider signed in: its password is the provider's business.
func (h *Handlers) refuseSSOPassword(c echo.Context) error {
	if sso, _, err := h.recentSSO(c); err != nil || !sso {
		return err
	}
	return &db.Error{Code: db.ErrForbidden, Message: "You sign in with your company account: change its password there, not in the portal."}
}
