package emails_test

import (
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/emails"
)

func TestRendererLowStock(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 1, 0, 0, time.UTC)
	lead := db.Login{ID: 3, Email: "lena@carrier.example", Name: "Lena Vogel", Role: db.RoleLead}
	f := db.ForecastStock(7, 79, []int{11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11}, now, 14)
	for _, tc := range []struct {
		name    string
		f       db.StockForecast
		subject string
		says    []string
	}{
		{"RunsOut", f, "Low stock: profile 7 eSIMs run out about 8 December",
			[]string{"Hello Lena Vogel,", "the 79 free eSIMs of IMSI profile 7 run out about Tue 8 December 2026", "reorder lead time of 14 days",
				"11 over the last 14 days, 5.5 over the last 28", "Reorder by:", "Tue 24 November 2026 (passed)", "Import eSIMs", "once a day"}},
		{"TheLastOne", db.ForecastStock(2, 1, []int{1}, now, 30), "Low stock: profile 2 eSIMs run out about 15 December",
			[]string{"the last free eSIM of IMSI profile 2 goes about Tue 15 December 2026", "Reorder by:", "Sun 15 November 2026 (passed)"}},
		{"OutOfStock", db.ForecastStock(10, 0, nil, now, 14), "Out of stock: no free profile 10 eSIMs",
			[]string{"There are no free eSIMs of IMSI profile 10 left", "0 over the last 14 days, 0 over the last 28"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := emails.Renderer{Brand: "Carrier"}.LowStock(db.LowStockMail{Lead: lead, Forecast: tc.f, At: now})
			if err != nil {
				t.Fatal(err)
			}
			if msg.Subject != tc.subject {
				t.Errorf("subject %q, want %q", msg.Subject, tc.subject)
			}
			html := doc(t, msg.HTML).Text()
			for _, s := range tc.says {
				if !strings.Contains(msg.Text, s) {
					t.Errorf("the text does not say %q:\n%s", s, msg.Text)
				}
				if !strings.Contains(strings.Join(strings.Fields(html), " "), strings.TrimSuffix(s, ":")) {
					t.Errorf("the HTML does not say %q", s)
				}
			}
			// An email for the carrier's staff, not its customers.
			if !strings.Contains(msg.Text, "eSIM Admin Portal") || strings.Contains(msg.Text, "Carrier\n") {
				t.Errorf("the email is not signed by the portal:\n%s", msg.Text)
			}
		})
	}
	if _, err := (emails.Renderer{}).LowStock(db.LowStockMail{Forecast: f}); err == nil {
		t.Error("a low-stock email without an address rendered")
	}
}
