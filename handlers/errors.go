package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

// The one error path. A handler, a middleware or the store refuses with a
// *db.Error (or db.Errors, every refusal of one form or body); anything else
// is a fault of the portal's own. The error handler turns either into an
// answer: the status from statusOf, the one table; a designed page, or under
// /api/ the one JSON shape, apiError. Forms shown again with their refusals
// inline are answered by their handlers (422, which htmx swaps into the page).

// statusOf is the one table from the code of a refusal to an HTTP status,
// for the error page and the API alike.
func statusOf(code db.Code) int {
	switch code {
	case "", codeInternal:
		return http.StatusInternalServerError
	case db.ErrNotFound:
		return http.StatusNotFound
	case db.ErrUnauthenticated:
		return http.StatusUnauthorized
	case db.ErrForbidden:
		return http.StatusForbidden
	case db.ErrTooLarge:
		return http.StatusRequestEntityTooLarge
	case db.ErrWrongFormat:
		return http.StatusUnsupportedMediaType
	case db.ErrWrongMethod:
		return http.StatusMethodNotAllowed
	case db.ErrConflict, db.ErrOutOfStock, db.ErrNotEligible, db.ErrProfileMismatch:
		// What is asked is fine in itself; the state of the eSIM, the stock or
		// the allowance refuses it.
		return http.StatusConflict
	}
	return http.StatusBadRequest // db.ErrInvalid, and any refusal of a code not listed
}

// refuse is a refusal made above the store: a request refused before the
// store is asked.
func refuse(code db.Code, message string) error { return db.Refuse(code, "", message) }

// refusalsOf is err's refusals, Echo's own included (no such route, a method
// the route does not take); nil for a fault of the portal's own.
func refusalsOf(err error) db.Errors {
	switch {
	case errors.Is(err, echo.ErrNotFound):
		return db.Errors{db.Refuse(db.ErrNotFound, "", "")}
	case errors.Is(err, echo.ErrMethodNotAllowed):
		return db.Errors{db.Refuse(db.ErrWrongMethod, "", "")}
	}
	return db.Refusals(err)
}

// apiError is the one shape of every error the API answers: what is wrong,
// its code, and for a refused body each field or record that will not do,
// all of them at once.
type apiError struct {
	Error  string       `json:"error"`
	Code   db.Code      `json:"code"`
	Errors []fieldError `json:"errors,omitempty"`
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// codeInternal is the code the API gives a fault of the portal's own.
const codeInternal db.Code = "internal"

// apiErrorOf is the API's answer to refusals: a refused body's (more than
// one, or a field's) are listed by field.
func apiErrorOf(refusals db.Errors) apiError {
	out := apiError{Error: refusals[0].Message, Code: refusals[0].Code}
	if len(refusals) == 1 && refusals[0].Field == "" {
		return out
	}
	for _, e := range refusals {
		out.Errors = append(out.Errors, fieldError{Field: e.Field, Message: e.Message})
	}
	if len(refusals) > 1 {
		out.Error = fmt.Sprintf("%d problems in the %s; nothing was changed", len(refusals), bodyPart(refusals[0].Field))
	}
	return out
}

// bodyPart is "records" for "records[3].bytes": the list of a batch a
// field is in; "request" for a field of a single object.
func bodyPart(field string) string {
	if list, _, ok := strings.Cut(field, "["); ok && list != "" {
		return list
	}
	return "request"
}

// ErrorHandler answers every error: in JSON under /api/, elsewhere with a
// designed page. Internal errors are logged with the request id and never
// shown.
func (h *Handlers) ErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	gone := c.Request().Context().Err() != nil
	if errors.Is(err, errBodyCut) || (gone && errors.Is(err, context.Canceled)) {
		// The browser went away before its answer was ready, or in the middle
		// of sending its form: nothing failed that anyone can see, and no one
		// is left to answer.
		c.Response().WriteHeader(statusClientClosedRequest)
		return
	}
	api := isAPI(c)
	refusals := refusalsOf(err)
	var code db.Code
	if refusals != nil {
		code = refusals[0].Code
	}
	status := statusOf(code)
	if gone && status < 500 {
		// A refusal for a browser that has gone: no one is left to read it.
		c.Response().WriteHeader(statusClientClosedRequest)
		return
	}
	if status >= 500 {
		h.Log.Error("request failed", "err", err, "method", c.Request().Method, "route", c.Path(),
			"request_id", requestID(c))
		refusals = db.Errors{{Code: codeInternal}}
	}
	for _, e := range refusals {
		if e.Message == "" {
			e.Message = messageOf(e.Code, api)
		}
	}
	switch {
	case c.Request().Method == http.MethodHead:
		c.NoContent(status)
	case api:
		if jerr := c.JSON(status, apiErrorOf(refusals)); jerr != nil {
			h.Log.Error("write API error", "err", jerr)
		}
	default:
		message := refusals.Error()
		if rerr := h.render(c, status, views.ErrorPage(status, titleOf(status), message)); rerr != nil {
			h.Log.Error("render error page", "err", rerr)
			c.String(status, message)
		}
	}
}

func titleOf(status int) string {
	switch status {
	case http.StatusNotFound:
		return "Not found"
	case http.StatusForbidden:
		return "Not allowed"
	case http.StatusBadRequest:
		return "Not accepted"
	case http.StatusRequestEntityTooLarge:
		return "Too large"
	case http.StatusConflict:
		return "Not possible"
	}
	if status >= 500 {
		return "Something went wrong"
	}
	return http.StatusText(status)
}

// messageOf says what a refusal of a code means when its maker gave no
// message: to a person, or for the API to the developers of the system
// calling it.
func messageOf(code db.Code, api bool) string {
	if api {
		switch code {
		case codeInternal:
			return "internal error; nothing was recorded, send it again"
		case db.ErrNotFound:
			return "no such API endpoint; the README's API section lists them"
		case db.ErrTooLarge:
			return "the body is too large"
		}
		return string(code)
	}
	switch code {
	case codeInternal:
		return "The portal hit a problem it could not handle. Try again; if it keeps happening, tell the portal team the time it happened."
	case db.ErrNotFound:
		return "There is nothing at this address. It may have been mistyped, or the link is out of date."
	case db.ErrForbidden:
		return "Your role does not allow this. Ask a team lead if you need it done."
	case db.ErrWrongMethod:
		return "This address does not take that kind of request."
	case db.ErrTooLarge:
		return "What you sent is larger than the portal accepts."
	}
	return "The request could not be used."
}
