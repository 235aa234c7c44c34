package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

func (h *Handlers) usersPage(c echo.Context) error {
	return h.renderUsers(c, http.StatusOK, views.UsersForm{})
}

func (h *Handlers) renderUsers(c echo.Context, status int, f views.UsersForm) error {
	c.Set(navKey, "users")
	var err error
	if f.Logins, err = h.Store.Logins(c.Request().Context()); err != nil {
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
	l, err := h.Store.AddLogin(c.Request().Context(), f.Email, f.Name, db.Role(f.Role), c.FormValue("password"), login(c))
	if err != nil {
		return h.refused(c, f, err)
	}
	return h.redirectWithFlash(c, "/users", fmt.Sprintf("Added %s (%s) as %s.", l.Name, l.Email, strings.ToLower(l.Role.Label())))
}

func (h *Handlers) setUserDisabled(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	disabled := c.FormValue("disabled") == "true"
	if err := h.Store.SetLoginDisabled(c.Request().Context(), id, disabled, login(c)); err != nil {
		return h.refused(c, views.UsersForm{}, err)
	}
	msg := "Login enabled."
	if disabled {
		msg = "Login disabled and signed out everywhere."
	}
	return h.redirectWithFlash(c, "/users", msg)
}

func (h *Handlers) resetPassword(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Store.ResetPassword(c.Request().Context(), id, c.FormValue("password"), login(c)); err != nil {
		var refusal *db.Error
		if errors.As(err, &refusal) && refusal.Field == "password" {
			// The page's password field is the add form's: say whose reset failed.
			refusal = &db.Error{Code: refusal.Code, Message: "Password not reset: " + refusal.Message}
			err = refusal
		}
		return h.refused(c, views.UsersForm{}, err)
	}
	if id == login(c).ID {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return h.redirectWithFlash(c, "/users", "Password reset; the login was signed out everywhere.")
}
