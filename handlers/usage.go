package handlers

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/rules"
)

// usageBodyLimit fits db.MaxUsageRecords records with room to spare; a
// record is about 200 bytes.
const usageBodyLimit = 1 << 20

type usageRequest struct {
	Records []json.RawMessage `json:"records"`
}

type usageRecord struct {
	ID      string `json:"id"`
	ICCID   string `json:"iccid"`
	MCC     string `json:"mcc"`
	Country string `json:"country"`
	Bytes   *int64 `json:"bytes"`
	Start   string `json:"start"`
	End     string `json:"end"`
}

type usageCharge struct {
	OrderNumber string `json:"order_number"`
	Plan        string `json:"plan"`
	Bytes       int64  `json:"bytes"`
}

type usagePlanEvent struct {
	OrderNumber string `json:"order_number"`
	Plan        string `json:"plan"`
	At          string `json:"at"`
	ExpiresAt   string `json:"expires_at,omitempty"`
}

type usageResult struct {
	ID             string           `json:"id"`
	ICCID          string           `json:"iccid"`
	Country        string           `json:"country"`
	Duplicate      bool             `json:"duplicate"`
	Charged        []usageCharge    `json:"charged"`
	Started        []usagePlanEvent `json:"started"`
	UsedUp         []usagePlanEvent `json:"used_up"`
	UncoveredBytes int64            `json:"uncovered_bytes"`
	Reason         string           `json:"reason,omitempty"`
}

type usageResponse struct {
	Records []usageResult `json:"records"`
}

// apiUsage records the data the networks report, all records or none, and
// answers what each one was charged to.
func (h *Handlers) apiUsage(c echo.Context) error {
	var req usageRequest
	if err := decodeBatch(c, &req, &req.Records, "records", usageBodyLimit, db.MaxUsageRecords); err != nil {
		return err
	}
	reports, unread := readUsageRecords(req.Records)
	ctx := c.Request().Context()
	if len(unread) > 0 {
		// List what the store would refuse too, so one answer names every bad record.
		err := h.Store.ValidateUsage(ctx, reports)
		refusals := db.Refusals(err)
		if err != nil && refusals == nil {
			return err
		}
		return bodyRefusals(unread, refusals)
	}
	results, err := h.Store.RecordUsage(ctx, reports, db.Login{})
	if refusals := db.Refusals(err); len(refusals) > 0 {
		return refusals
	}
	if err != nil {
		return err
	}
	h.Metrics.countUsage(results)
	out := usageResponse{Records: make([]usageResult, len(results))}
	for i, r := range results {
		out.Records[i] = usageResultJSON(r)
	}
	return c.JSON(http.StatusOK, out)
}

// readUsageRecords reads each record strictly: what cannot be read is a
// refusal of that record's field, by its index, and leaves the field zero. A
// record that is not a record at all is refused as a whole ("records[3]"),
// and its other fields are not checked.
func readUsageRecords(raw []json.RawMessage) ([]db.UsageReport, db.Errors) {
	var unread db.Errors
	reports := make([]db.UsageReport, len(raw))
	for i, msg := range raw {
		field := func(name string) string { return "records[" + strconv.Itoa(i) + "]" + name }
		bad := func(name, message string) {
			unread = append(unread, &db.Error{Code: db.ErrInvalid, Field: field(name), Message: message})
		}
		var rec usageRecord
		if msg := decodeRecord(msg, &rec, "a record"); msg != "" {
			bad("", msg)
			continue
		}
		r := db.UsageReport{ID: rec.ID, ICCID: rec.ICCID, MCC: rec.MCC, Country: rec.Country}
		if rec.Bytes == nil {
			bad(".bytes", "bytes is required")
		} else {
			r.Bytes = *rec.Bytes
		}
		var msg string
		if r.Start, msg = parseAPITime("start", rec.Start); msg != "" {
			bad(".start", msg)
		}
		if r.End, msg = parseAPITime("end", rec.End); msg != "" {
			bad(".end", msg)
		}
		reports[i] = r
	}
	return reports, unread
}

// bodyRefusals is every refusal of a body: what could not be read, then
// what the store refused of the rest, leaving out a record or field already
// refused as unreadable.
func bodyRefusals(unread, refusals db.Errors) db.Errors {
	seen := map[string]bool{}
	out := slices.Clip(unread)
	for _, e := range unread {
		seen[e.Field] = true
	}
	for _, e := range refusals {
		if !seen[e.Field] && !seen[recordOf(e.Field)] {
			out = append(out, e)
		}
	}
	return out
}

// recordOf is "records[3]" for "records[3].bytes".
func recordOf(field string) string {
	rec, _, _ := strings.Cut(field, ".")
	return rec
}

func usageResultJSON(r db.UsageResult) usageResult {
	out := usageResult{ID: r.ID, ICCID: r.ICCID, Country: r.Country, Duplicate: r.Duplicate, UncoveredBytes: r.Uncovered,
		Reason: r.Reason, Charged: []usageCharge{}, Started: []usagePlanEvent{}, UsedUp: []usagePlanEvent{}}
	for _, ch := range r.Charges {
		out.Charged = append(out.Charged, usageCharge{OrderNumber: ch.OrderNumber, Plan: ch.Plan, Bytes: ch.Bytes})
	}
	for _, ev := range r.Started {
		out.Started = append(out.Started, usagePlanEvent{OrderNumber: ev.OrderNumber, Plan: ev.Plan, At: apiTime(ev.At), ExpiresAt: apiTime(ev.ExpiresAt)})
	}
	for _, ev := range r.UsedUp {
		out.UsedUp = append(out.UsedUp, usagePlanEvent{OrderNumber: ev.OrderNumber, Plan: ev.Plan, At: apiTime(ev.At)})
	}
	return out
}

// simulateUsage stands in for the network in the demo: the line's phone uses
// the megabytes given in the chosen country now, through the same rule as a
// real report.
func (h *Handlers) simulateUsage(c echo.Context) error {
	iccid := c.Param("iccid")
	mbs, err := strconv.ParseInt(strings.TrimSpace(c.FormValue("mb")), 10, 64)
	if err != nil || mbs <= 0 || mbs > 100_000 {
		return &db.Error{Code: db.ErrInvalid, Field: "mb", Message: "Enter the megabytes to use: a whole number from 1 to 100000."}
	}
	now := h.Store.Now()
	results, err := h.Store.RecordUsage(c.Request().Context(), []db.UsageReport{{
		ID: "sim-" + rand.Text(), ICCID: iccid, Country: c.FormValue("country"), Bytes: mbs * db.BytesPerMB, Start: now, End: now,
	}}, login(c))
	if err != nil {
		return err
	}
	h.Metrics.countUsage(results)
	r := results[0]
	msg := fmt.Sprintf("Simulated %s used in %s.", rules.FormatBytes(mbs*db.BytesPerMB), rules.CountryName(r.Country))
	for _, ch := range r.Charges {
		msg += fmt.Sprintf(" %s charged to %s (%s).", rules.FormatBytes(ch.Bytes), ch.Plan, ch.OrderNumber)
	}
	for _, ev := range r.UsedUp {
		msg += fmt.Sprintf(" %s is used up.", ev.Plan)
	}
	for _, ev := range r.Started {
		msg += fmt.Sprintf(" %s started.", ev.Plan)
	}
	if r.Uncovered > 0 {
		msg += fmt.Sprintf(" %s uncovered: %s.", rules.FormatBytes(r.Uncovered), r.Reason)
	}
	return h.redirectWithFlash(c, "/esims/"+iccid, msg)
}
