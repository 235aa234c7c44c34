package handlers

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

const auditPageSize = 50

// auditFilter reads the audit log filter from the query; a bad date is
// reported, not fatal.
func auditFilter(c echo.Context) (db.AuditFilter, views.AuditView, string) {
	v := views.AuditView{Subscriber: c.QueryParam("subscriber"), ICCID: c.QueryParam("iccid"), From: c.QueryParam("from"), To: c.QueryParam("to")}
	v.LoginID, _ = strconv.ParseInt(c.QueryParam("login"), 10, 64)
	f := db.AuditFilter{LoginID: v.LoginID, Subscriber: v.Subscriber, ICCID: v.ICCID}
	var problems []string
	if v.From != "" {
		t, err := time.Parse(time.DateOnly, v.From)
		if err != nil {
			problems = append(problems, "From must be a date like 2026-12-01.")
		}
		f.From = t
	}
	if v.To != "" {
		t, err := time.Parse(time.DateOnly, v.To)
		if err != nil {
			problems = append(problems, "To must be a date like 2026-12-31.")
		} else {
			f.To = t.AddDate(0, 0, 1) // the whole day
		}
	}
	return f, v, strings.Join(problems, " ")
}

func (h *Handlers) auditPage(c echo.Context) error {
	c.Set(navKey, "audit")
	ctx := c.Request().Context()
	f, v, problem := auditFilter(c)
	v.Error = problem
	before, _ := strconv.ParseInt(c.QueryParam("before"), 10, 64)
	after, _ := strconv.ParseInt(c.QueryParam("after"), 10, 64)
	var err error
	if v.Logins, err = h.Store.Logins(ctx); err != nil {
		return err
	}
	if v.Page, err = h.Store.AuditLog(ctx, f, before, after, auditPageSize); err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.AuditLog(v))
}

// auditCSV streams the filtered audit log, one row at a time.
func (h *Handlers) auditCSV(c echo.Context) error {
	f, _, problem := auditFilter(c)
	if problem != "" {
		return echo.NewHTTPError(http.StatusBadRequest, problem)
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	w.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="audit-%s.csv"`, h.Store.Now().Format(time.DateOnly)))
	w.WriteHeader(http.StatusOK)
	out := csv.NewWriter(w)
	out.Write([]string{"id", "at", "login_email", "login_name", "action", "subscriber_account", "subscriber_name", "iccid", "detail"})
	err := h.Store.EachAuditEntry(c.Request().Context(), f, func(e db.AuditEntry) error {
		return out.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), e.LoginEmail, e.LoginName, e.Action,
			e.AccountNumber, e.SubscriberName, e.ICCID, e.Detail})
	})
	out.Flush()
	if err != nil {
		// The status is sent; all that is left is to log and cut the file short.
		h.Log.Error("audit export", "err", err)
	}
	return nil
}
