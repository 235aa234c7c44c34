package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

// Managing logins. A change that could take one over (adding a team lead,
// resetting another login's password, disabling or enabling a login) asks
// the team lead for their own password again, so a session left open or
// stolen is not enough to make one. A password a team lead sets is
// temporary: its next sign-in chooses a new one.

func (h *Handlers) usersPage(c echo.Context) error {
	return h.renderUsers(c, http.StatusOK, views.UsersForm{})
}

func (h *Handlers) renderUsers(c echo.Context, status int, f views.UsersForm) error {
	c.Set(navKey, "users")
	var err error
	if f.Logins, err = h.Store.Logins(c.Request().Context()); err != nil {
		return err
	}
	if f.BreakGlass, err = h.Store.BreakGlassSignIns(c.Request().Context(), h.Store.Now().AddDate(0, 0, -30)); err != nil {
		return err
	}
	return h.render(c, status, views.Users(f))
}

// refused re-renders the Users page with every refusal of the store next to
// its field, with 422 as every form shown again with its refusals; any other
// error goes on up.
func (h *Handlers) refused(c echo.Context, f views.UsersForm, err error) error {
	refusals := db.Refusals(err)
	if refusals == nil {
		return err
	}
	f.Errors = refusals.ByField()
	return h.renderUsers(c, http.StatusUnprocessableEntity, f)
}

func (h *Handlers) addUser(c echo.Context) error {
	f := views.UsersForm{Email: strings.TrimSpace(c.FormValue("email")), Name: c.FormValue("name"), Role: c.FormValue("role")}
	password := c.FormValue("password")
	if db.Role(f.Role) == db.RoleLead {
		if err := h.confirmPassword(c, "your_password"); err != nil {
			refusals := db.Refusals(err)
			if refusals == nil {
				return err
			}
			return h.refused(c, f, append(refusals, db.Refusals(db.CheckNewLogin(f.Email, f.Name, db.Role(f.Role), password))...))
		}
	}
	l, err := h.Store.AddLogin(c.Request().Context(), f.Email, f.Name, db.Role(f.Role), password, login(c))
	if err != nil {
		return h.refused(c, f, err)
	}
	return h.redirectWithFlash(c, "/users", fmt.Sprintf("Added %s (%s) as %s, with a temporary password: they choose their own when they first sign in.",
		l.Name, l.Email, strings.ToLower(l.Role.Label())))
}

// managedLogin is the login named in the path, disabled or not.
func (h *Handlers) managedLogin(c echo.Context) (db.Login, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return db.Login{}, err
	}
	return h.Store.LoginByID(c.Request().Context(), id)
}

// loginPage is where a team lead resets a login's password or disables it.
func (h *Handlers) loginPage(c echo.Context) error {
	l, err := h.managedLogin(c)
	if err != nil {
		return err
	}
	return h.renderLogin(c, http.StatusOK, views.LoginForm{Login: l})
}

func (h *Handlers) renderLogin(c echo.Context, status int, f views.LoginForm) error {
	c.Set(navKey, "users")
	f.Self = f.Login.ID == login(c).ID
	return h.render(c, status, views.ManageLogin(f))
}

// refusedLogin shows the login's page again with the refusals next to the
// fields of form; any other error goes on up.
func (h *Handlers) refusedLogin(c echo.Context, l db.Login, form string, err error) error {
	refusals := db.Refusals(err)
	if refusals == nil {
		return err
	}
	return h.renderLogin(c, http.StatusUnprocessableEntity, views.LoginForm{Login: l, Form: form, Errors: refusals.ByField()})
}

func (h *Handlers) setUserDisabled(c echo.Context) error {
	l, err := h.managedLogin(c)
	if err != nil {
		return err
	}
	if err := h.confirmPassword(c, "your_password"); err != nil {
		return h.refusedLogin(c, l, "status", err)
	}
	disabled := c.FormValue("disabled") == "true"
	if err := h.Store.SetLoginDisabled(c.Request().Context(), l.ID, disabled, login(c)); err != nil {
		return h.refusedLogin(c, l, "status", err)
	}
	if l.ID == login(c).ID && disabled {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	msg := fmt.Sprintf("%s enabled.", l.Name)
	if disabled {
		msg = fmt.Sprintf("%s disabled and signed out everywhere.", l.Name)
	}
	return h.redirectWithFlash(c, "/users", msg)
}

func (h *Handlers) resetPassword(c echo.Context) error {
	l, err := h.managedLogin(c)
	if err != nil {
		return err
	}
	password := c.FormValue("password")
	var refusals db.Errors
	if err := h.confirmPassword(c, "your_password"); err != nil {
		if refusals = db.Refusals(err); refusals == nil {
			return err
		}
	}
	if refusals != nil {
		return h.refusedLogin(c, l, "reset", append(refusals, db.Refusals(db.CheckPassword(password))...))
	}
	if err := h.Store.ResetPassword(c.Request().Context(), l.ID, password, login(c)); err != nil {
		return h.refusedLogin(c, l, "reset", err)
	}
	return h.redirectWithFlash(c, "/users", fmt.Sprintf("%s has a temporary password and is signed out everywhere: they choose their own when they next sign in.", l.Name))
}

// confirmPassword checks the signed-in login's own password, typed again in
// the form field field, before a change that could take over a login. A
// wrong one counts against the sign-in throttle as a failed sign-in does, so
// a stolen session cannot guess it any faster. A refusal names field. A
// session the identity provider signed in has no password to type: its
// sign-in must be recent instead.
func (h *Handlers) confirmPassword(c echo.Context, field string) error {
	if sso, recent, err := h.recentSSO(c); err != nil || recent {
		return err
	} else if sso {
		return &db.Error{Code: db.ErrInvalid, Field: field, Message: fmt.Sprintf(
			"For this change, sign out and in again through your company account: your sign-in must be less than %d minutes old.", int(ssoRecent/time.Minute))}
	}
	_, wait, err := h.checkPassword(c, login(c).Email, c.FormValue(field))
	switch {
	case wait > 0:
		return &db.Error{Code: db.ErrInvalid, Field: field, Message: fmt.Sprintf("Too many wrong passwords. Try again in %s.", roundUp(wait))}
	case errors.Is(err, db.ErrWrongCredentials):
		return &db.Error{Code: db.ErrInvalid, Field: field, Message: "That is not your password: enter the one you sign in with."}
	case errors.Is(err, errPasswordChecksBusy):
		return &db.Error{Code: db.ErrConflict, Field: field, Message: passwordChecksBusy}
	}
	return err
}

// passwordPage is where a login changes its password: the one it signed in
// with, when a team lead set it, before anything else. A session the
// identity provider signed in has none here: a password it set would
// outlast the person's removal from the provider's groups.
func (h *Handlers) passwordPage(c echo.Context) error {
	if err := h.refuseSSOPassword(c); err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.ChangePassword(views.PasswordForm{Next: safeNext(c.QueryParam("next")), Temporary: login(c).PasswordTemporary}))
}

func (h *Handlers) changePassword(c echo.Context) error {
	if err := h.refuseSSOPassword(c); err != nil {
		return err
	}
	me := login(c)
	f := views.PasswordForm{Next: safeNext(c.FormValue("next")), Temporary: me.PasswordTemporary}
	current, password := c.FormValue("current_password"), c.FormValue("password")
	var refusals db.Errors
	if err := h.confirmPassword(c, "current_password"); err != nil {
		if refusals = db.Refusals(err); refusals == nil {
			return err
		}
	}
	refusals = append(refusals, db.Refusals(db.CheckPassword(password))...)
	switch {
	case password != c.FormValue("password_again"):
		refusals = append(refusals, &db.Error{Code: db.ErrInvalid, Field: "password_again", Message: "The two new passwords differ: type the same one twice."})
	case password == current && len(refusals) == 0:
		refusals = append(refusals, &db.Error{Code: db.ErrInvalid, Field: "password", Message: "Choose a password other than the one you have."})
	}
	if len(refusals) > 0 {
		f.Errors = refusals.ByField()
		return h.render(c, http.StatusUnprocessableEntity, views.ChangePassword(f))
	}
	ctx := c.Request().Context()
	if err := h.Store.ChangePassword(ctx, me, password); err != nil {
		return err
	}
	// Every session of the login has ended; this browser starts a new one.
	if err := h.startSession(ctx, c, me.ID); err != nil {
		return err
	}
	return h.redirectWithFlash(c, f.Next, "Password changed. You were signed out everywhere else.")
}

// startSession gives the browser a new session for the login, under a new
// id: whatever id it had before is worthless from now on.
func (h *Handlers) startSession(ctx context.Context, c echo.Context, loginID int64) error {
	return h.startSessionWith(ctx, c, loginID, map[any]any{})
}

// startSessionWith is startSession keeping values in the new session too.
func (h *Handlers) startSessionWith(ctx context.Context, c echo.Context, loginID int64, values map[any]any) error {
	session, err := h.Sessions.Get(c.Request(), h.CookieName)
	if err != nil {
		return err
	}
	if err := h.Sessions.Renew(ctx, session); err != nil {
		return err
	}
	values[sessionLoginKey] = loginID
	session.Values = values
	return session.Save(c.Request(), c.Response())
}

// passwordPath is the page a login with a temporary password is sent to,
// coming back to next afterwards.
func passwordPath(next string) string {
	if next == "" || next == "/subscribers" {
		return "/account/password"
	}
	return "/account/password?next=" + url.QueryEscape(next)
}
