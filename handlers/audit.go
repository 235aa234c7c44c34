package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

const auditPageSize = 50

// auditFilter reads the audit log filter from the query, and the view of it
// as typed.
func auditFilter(c echo.Context) (db.AuditFilter, views.AuditView, error) {
	in := db.AuditFilterInput{Login: c.QueryParam("login"), Subscriber: c.QueryParam("subscriber"), ICCID: c.QueryParam("iccid"),
		From: c.QueryParam("from"), To: c.QueryParam("to")}
	f, err := db.ParseAuditFilter(in)
	v := views.AuditView{LoginID: f.LoginID, Subscriber: in.Subscriber, ICCID: in.ICCID, From: in.From, To: in.To}
	return f, v, err
}

// auditPage is the audit log. A filter it cannot use answers 422 with the
// reason beside the field, and no entries.
func (h *Handlers) auditPage(c echo.Context) error {
	c.Set(navKey, "audit")
	ctx := c.Request().Context()
	f, v, err := auditFilter(c)
	status := http.StatusOK
	if refusals := db.Refusals(err); refusals != nil {
		v.Errors, status = refusals.ByField(), http.StatusUnprocessableEntity
	} else if err != nil {
		return err
	}
	before, _ := strconv.ParseInt(c.QueryParam("before"), 10, 64)
	after, _ := strconv.ParseInt(c.QueryParam("after"), 10, 64)
	if v.Logins, err = h.Store.Logins(ctx); err != nil {
		return err
	}
	if v.Errors == nil {
		if v.Page, err = h.Store.AuditLog(ctx, f, before, after, auditPageSize); err != nil {
			return err
		}
	}
	return h.render(c, status, views.AuditLog(v))
}

// auditCSV streams the filtered audit log, one row at a time.
func (h *Handlers) auditCSV(c echo.Context) error {
	f, _, err := auditFilter(c)
	if err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	w.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="audit-%s.csv"`, h.Store.Now().Format(time.DateOnly)))
	w.WriteHeader(http.StatusOK)
	out := db.NewCSVWriter(w)
	out.Write([]string{"id", "at", "login_email", "login_name", "api_client", "action", "subscriber_account", "subscriber_name", "iccid", "detail"})
	err = h.Store.EachAuditEntry(c.Request().Context(), f, func(e db.AuditEntry) error {
		return out.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), e.LoginEmail, e.LoginName, e.APIClient, e.Action,
			e.AccountNumber, e.SubscriberName, e.ICCID, e.Detail})
	})
	out.Flush()
	if err != nil {
		// The status is sent; all that is left is to log and cut the file short.
		h.Log.Error("audit export", "err", err)
	}
	return nil
}
