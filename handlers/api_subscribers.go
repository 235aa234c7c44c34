package handlers

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
)

// The subscriber API: billing sends each subscriber's whole state, one at a
// time (PUT) or up to 1,000 at once (POST), and reads what the portal holds
// of them, travel eSIMs included (GET). The rules of what a change means
// live in db/billing.go.

// subscribersBodyLimit fits 1,000 subscribers with a few home plans each.
const subscribersBodyLimit = 4 << 20

type homePlanJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Lines *int   `json:"lines"`
	Since string `json:"since"`
}

// SubscriberState is a subscriber as billing sends it: the body of PUT, a
// record of POST, a line of an import file.
type SubscriberState struct {
	AccountNumber string         `json:"account_number"`
	Name          string         `json:"name"`
	Email         string         `json:"email"`
	Phone         string         `json:"phone"`
	Status        string         `json:"status"`
	HomePlans     []homePlanJSON `json:"home_plans"`
	AsOf          string         `json:"as_of"`
}

// ReadSubscriberState reads one state strictly: what cannot be read is a
// refusal of that field, named through field ("subscribers[3].as_of"); the
// store checks the rest. The import command reads its files with it too.
func ReadSubscriberState(data []byte, field func(string) string) (db.BillingSubscriber, db.Errors) {
	var st SubscriberState
	if msg := decodeRecord(data, &st, "a subscriber"); msg != "" {
		return db.BillingSubscriber{}, db.Errors{{Code: db.ErrInvalid, Field: field(""), Message: msg}}
	}
	return st.billing(field)
}

func (st SubscriberState) billing(field func(string) string) (db.BillingSubscriber, db.Errors) {
	var errs db.Errors
	bad := func(name, msg string) {
		errs = append(errs, &db.Error{Code: db.ErrInvalid, Field: field(name), Message: msg})
	}
	b := db.BillingSubscriber{AccountNumber: st.AccountNumber, Name: st.Name, Email: st.Email, Phone: st.Phone, Status: st.Status}
	if st.AsOf != "" {
		var msg string
		if b.AsOf, msg = parseAPITime("as_of", st.AsOf); msg != "" {
			bad("as_of", msg)
		}
	}
	for i, p := range st.HomePlans {
		hp := db.HomePlan{BillingID: p.ID, Name: p.Name, Kind: p.Kind, Lines: 1}
		if p.Lines != nil {
			hp.Lines = *p.Lines
		}
		if p.Since != "" {
			name := "home_plans[" + strconv.Itoa(i) + "].since"
			var msg string
			if hp.Since, msg = parseAPITime(name, p.Since); msg != "" {
				bad(name, msg)
			}
		}
		b.HomePlans = append(b.HomePlans, hp)
	}
	return b, errs
}

type syncResultJSON struct {
	AccountNumber string   `json:"account_number"`
	Result        string   `json:"result"`
	Changed       bool     `json:"changed"`
	Changes       []string `json:"changes"`
	OverAllowance string   `json:"over_allowance,omitempty"`
}

func syncJSON(r db.SyncResult) syncResultJSON {
	changes := r.Changes
	if changes == nil {
		changes = []string{}
	}
	return syncResultJSON{AccountNumber: r.AccountNumber, Result: r.Outcome, Changed: r.Changed(), Changes: changes, OverAllowance: r.OverAllowance}
}

// apiPutSubscriber creates or replaces one subscriber's state.
func (h *Handlers) apiPutSubscriber(c echo.Context) error {
	var st SubscriberState
	if err := decodeJSON(c, &st, 64<<10); err != nil {
		return err
	}
	account := c.Param("account_number")
	if st.AccountNumber != "" && db.NormalAccountNumber(st.AccountNumber) != db.NormalAccountNumber(account) {
		return refuse(db.ErrInvalid, "account_number in the body is not the one in the address")
	}
	st.AccountNumber = account
	b, unread := st.billing(bare)
	result, err := h.Store.SyncSubscriber(c.Request().Context(), b, apiClientOf(c).ID)
	if refusals := db.Refusals(err); len(unread) > 0 || len(refusals) > 0 {
		return bodyRefusals(unread, refusals)
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if result.Outcome == db.SyncCreated {
		status = http.StatusCreated
	}
	return c.JSON(status, syncJSON(result))
}

type subscribersRequest struct {
	Subscribers []json.RawMessage `json:"subscribers"`
}

// apiPostSubscribers applies up to 1,000 states at once, all or nothing.
func (h *Handlers) apiPostSubscribers(c echo.Context) error {
	var req subscribersRequest
	if err := decodeBatch(c, &req, &req.Subscribers, "subscribers", subscribersBodyLimit, db.MaxBillingBatch); err != nil {
		return err
	}
	states := make([]db.BillingSubscriber, len(req.Subscribers))
	var unread db.Errors
	for i, raw := range req.Subscribers {
		field := func(name string) string {
			if name == "" {
				return "subscribers[" + strconv.Itoa(i) + "]"
			}
			return "subscribers[" + strconv.Itoa(i) + "]." + name
		}
		var errs db.Errors
		states[i], errs = ReadSubscriberState(raw, field)
		unread = append(unread, errs...)
	}
	results, err := h.Store.SyncSubscribers(c.Request().Context(), states, apiClientOf(c).ID)
	if refusals := db.Refusals(err); len(unread) > 0 || len(refusals) > 0 {
		return bodyRefusals(unread, refusals)
	}
	if err != nil {
		return err
	}
	out := struct {
		Subscribers []syncResultJSON `json:"subscribers"`
	}{make([]syncResultJSON, len(results))}
	for i, r := range results {
		out.Subscribers[i] = syncJSON(r)
	}
	return c.JSON(http.StatusOK, out)
}

type subscriberJSON struct {
	AccountNumber string             `json:"account_number"`
	Name          string             `json:"name"`
	Email         string             `json:"email"`
	Phone         string             `json:"phone"`
	Status        string             `json:"status"`
	HomePlans     []homePlanOut      `json:"home_plans"`
	AsOf          *string            `json:"as_of"`
	ChangedAt     *string            `json:"changed_at"`
	Allowance     allowanceJSON      `json:"allowance"`
	ESIMs         []subscriberESIMJS `json:"esims"`
}

type homePlanOut struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Lines     int    `json:"lines"`
	Since     string `json:"since"`
	Qualifies bool   `json:"qualifies"`
}

type allowanceJSON struct {
	Used          int    `json:"used"`
	Total         int    `json:"total"`
	Left          int    `json:"left"`
	OverAllowance string `json:"over_allowance,omitempty"`
}

type subscriberESIMJS struct {
	LineName    string         `json:"line_name"`
	ICCID       string         `json:"iccid"`
	IMSIProfile int            `json:"imsi_profile"`
	AllocatedAt string         `json:"allocated_at"`
	Plans       []linePlanJSON `json:"plans"`
}

type linePlanJSON struct {
	OrderNumber string  `json:"order_number"`
	Plan        string  `json:"plan"`
	Code        string  `json:"code"`
	State       string  `json:"state"`
	DataBytes   int64   `json:"data_bytes"`
	LeftBytes   int64   `json:"left_bytes"`
	ActivatedAt *string `json:"activated_at"`
	ExpiresAt   *string `json:"expires_at"`
}

func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := apiTime(t)
	return &s
}

// apiGetSubscriber answers what the portal holds of a subscriber, so that
// billing's CRM can show the travel eSIMs to its own agents.
func (h *Handlers) apiGetSubscriber(c echo.Context) error {
	ctx := c.Request().Context()
	sub, err := h.Store.SubscriberByAccount(ctx, c.Param("account_number"))
	if err != nil {
		return err
	}
	home, err := h.Store.DomesticPlans(ctx, sub.ID)
	if err != nil {
		return err
	}
	a, err := h.Store.Allowance(ctx, sub.ID)
	if err != nil {
		return err
	}
	lines, err := h.Store.Lines(ctx, sub.ID)
	if err != nil {
		return err
	}
	now := h.Store.Now()
	out := subscriberJSON{AccountNumber: sub.AccountNumber, Name: sub.Name, Email: sub.Email, Phone: sub.Phone, Status: sub.Status,
		HomePlans: []homePlanOut{}, AsOf: optionalTime(sub.BillingAsOf), ChangedAt: optionalTime(sub.BillingChangedAt),
		Allowance: allowanceJSON{Used: a.Used, Total: a.Total, Left: a.Left(), OverAllowance: a.Over()}, ESIMs: []subscriberESIMJS{}}
	for _, p := range home {
		out.HomePlans = append(out.HomePlans, homePlanOut{ID: p.BillingID, Name: p.Name, Kind: p.Kind, Lines: p.Lines, Since: apiTime(p.Since), Qualifies: p.Qualifies})
	}
	for _, e := range lines {
		line := subscriberESIMJS{LineName: e.LineName, ICCID: e.ICCID, IMSIProfile: e.IMSIProfile, AllocatedAt: apiTime(e.AllocatedAt), Plans: []linePlanJSON{}}
		for _, lp := range e.Plans {
			line.Plans = append(line.Plans, linePlanJSON{OrderNumber: lp.OrderNumber, Plan: lp.Plan.Name, Code: lp.Plan.Code, State: lp.StateAt(now),
				DataBytes: lp.DataBytes, LeftBytes: lp.LeftBytes(), ActivatedAt: optionalTime(lp.ActivatedAt), ExpiresAt: optionalTime(lp.ExpiresAt)})
		}
		out.ESIMs = append(out.ESIMs, line)
	}
	return c.JSON(http.StatusOK, out)
}
