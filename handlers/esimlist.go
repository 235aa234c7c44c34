package handlers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

// listInput reads the List's filter from the URL query.
func listInput(c echo.Context) db.ListFilterInput { return db.ReadListFilter(c.QueryParam) }

// esimList is the eSIM List. The filter form and the page links swap only
// the results (HX-Target esim-results); any other request, a shared link or
// a reload, gets the whole page for the same URL. A filter it cannot use
// answers 422 with the reason beside the field.
func (h *Handlers) esimList(c echo.Context) error {
	c.Set(navKey, "esims")
	ctx := c.Request().Context()
	v := views.ESIMListView{Filter: listInput(c), Now: h.Store.Now()}
	status := http.StatusOK
	f, err := db.ParseListFilter(v.Filter)
	if refused := db.Refusals(err); len(refused) > 0 {
		v.Errors, status = refused.ByField(), http.StatusUnprocessableEntity
	} else if err != nil {
		return err
	} else {
		if v.Page, err = h.Store.ESIMList(ctx, f, c.QueryParam("after"), c.QueryParam("before")); err != nil {
			return err
		}
	}
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "esim-results" {
		// The form submits its empty fields too; the address bar gets the
		// short form of the same filter.
		cursor, value := "after", c.QueryParam("after")
		if value == "" {
			cursor, value = "before", c.QueryParam("before")
		}
		if v.Page.Notice != "" { // the link was out of date: this is the first page
			value = ""
		}
		c.Response().Header().Set("HX-Push-Url", v.URL(cursor, value))
		return h.render(c, status, views.ESIMListResults(v))
	}
	if v.Allocators, err = h.Store.Logins(ctx); err != nil {
		return err
	}
	if v.Stock, err = h.Store.StockSummary(ctx); err != nil {
		return err
	}
	v.LowStock = h.LowStock
	return h.render(c, status, views.ESIMList(v))
}

// esimListCSV streams the eSIMs the filter matches, however many, as CSV. A
// filter it cannot use gets the List with the reason beside each field, as
// the List's own form does.
func (h *Handlers) esimListCSV(c echo.Context) error {
	f, err := db.ParseListFilter(listInput(c))
	if db.Refusals(err) != nil {
		return h.esimList(c)
	} else if err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	w.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="esims-%s.csv"`, h.Store.Now().UTC().Format(time.DateOnly)))
	w.WriteHeader(http.StatusOK)
	if err := h.Store.ExportESIMs(c.Request().Context(), f, w, w.Flush); err != nil {
		// The status is sent; all that is left is to log and cut the file
		// short. A browser that went away (a cancelled download) is no error.
		if c.Request().Context().Err() != nil {
			h.Log.Info("eSIM export stopped: the browser went away", "request_id", requestID(c))
			return nil
		}
		h.Log.Error("eSIM export", "err", err, "request_id", requestID(c))
	}
	return nil
}
