package handlers

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/views"
)

func (h *Handlers) importPage(c echo.Context) error {
	c.Set(navKey, "esims")
	return h.render(c, http.StatusOK, views.InventoryImport(views.InventoryImportView{}))
}

// importInventory adds the eSIMs of an uploaded CSV file, all or nothing.
func (h *Handlers) importInventory(c echo.Context) error {
	c.Set(navKey, "esims")
	refused := func(v views.InventoryImportView) error {
		return h.render(c, http.StatusUnprocessableEntity, views.InventoryImport(v))
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return refused(views.InventoryImportView{Message: "Choose the CSV file to import."})
	}
	file, err := fh.Open()
	if err != nil {
		return err
	}
	defer file.Close()
	res, bad, err := h.Store.ImportInventory(c.Request().Context(), file, login(c))
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return refused(views.InventoryImportView{FileName: fh.Filename, Errors: bad})
	}
	h.insights.drop() // the stock forecast counts the eSIMs just added
	// Free eSIMs list newest delivery first: the import is at the top.
	return h.redirectWithFlash(c, "/esims?state=free", fmt.Sprintf("Added %s, from %s.", res.Summary(), fh.Filename))
}
