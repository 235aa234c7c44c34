package db

import (
	"context"
	"database/sql"
	"errors"
)

const esimColumns = `e.iccid, e.imsi_profile, e.smdp_address, e.matching_id, e.state, e.stocked_at,
	coalesce(e.subscriber_id, 0), coalesce(e.line_name, ''), e.allocated_at, coalesce(l.name, ''),
	coalesce(e.profile_state, ''), e.profile_state_at,
	(SELECT max(o.sent_at) FROM outbox o WHERE o.iccid = e.iccid AND o.kind = 'qr' AND o.state = 'sent'),
	(SELECT coalesce(sum(u.uncovered_bytes), 0) FROM usage_records u WHERE u.iccid = e.iccid AND u.uncovered_bytes > 0)
		+ (SELECT coalesce(sum(d.uncovered_bytes), 0) FROM usage_days d WHERE d.iccid = e.iccid AND d.uncovered_bytes > 0),
	coalesce(e.retired_reason, ''),
	coalesce((SELECT o.state FROM outbox o WHERE o.iccid = e.iccid AND o.kind = 'qr' ORDER BY o.id DESC LIMIT 1), ''),
	coalesce(e.replaced_by, ''), coalesce((SELECT r.iccid FROM esims r WHERE r.replaced_by = e.iccid), ''),
	coalesce(so.state, ''), coalesce(so.attempts, 0), so.next_attempt_at, coalesce(so.last_error, ''), coalesce(so.status_code, ''),
	coalesce(so.refusal, ''), coalesce(ie.message, ''), ie.at`

// esimFrom joins an eSIM's SM-DP+ order and its install error: the last
// failure the SM-DP+ reported from the phone (a notification point up to 99)
// newer than the profile state, which a newer report of the phone ends.
const esimFrom = ` FROM esims e LEFT JOIN logins l ON l.id = e.allocated_by LEFT JOIN smdp_orders so ON so.iccid = e.iccid
	LEFT JOIN smdp_notifications ie ON ie.id = (SELECT n.id FROM smdp_notifications n WHERE n.iccid = e.iccid AND n.message <> ''
		AND n.point < 100 AND n.at > coalesce(e.profile_state_at, '') ORDER BY n.at DESC, n.id DESC LIMIT 1) `

func scanESIM(row interface{ Scan(...any) error }) (ESIM, error) {
	var e ESIM
	var allocated, profileAt, qrSent, smdpNext, installErrorAt nullTime
	err := row.Scan(&e.ICCID, &e.IMSIProfile, &e.SMDPAddress, &e.MatchingID, &e.State, dbTime{&e.StockedAt},
		&e.SubscriberID, &e.LineName, &allocated, &e.AllocatedBy, &e.ProfileState, &profileAt, &qrSent, &e.UncoveredBytes,
		&e.RetiredReason, &e.QRState, &e.ReplacedBy, &e.Replaces,
		&e.SMDP.State, &e.SMDP.Attempts, &smdpNext, &e.SMDP.LastError, &e.SMDP.StatusCode, &e.SMDP.Refusal, &e.SMDP.InstallError, &installErrorAt)
	e.AllocatedAt, e.ProfileStateAt, e.QRSentAt = allocated.Time, profileAt.Time, qrSent.Time
	e.SMDP.NextAttemptAt, e.SMDP.InstallErrorAt = smdpNext.Time, installErrorAt.Time
	return e, err
}

// Lines returns the subscriber's allocated eSIMs with their plans, in the
// order they were given.
func (s *Store) Lines(ctx context.Context, subscriberID int64) (_ []ESIM, err error) {
	defer func() { err = failed("load lines", err) }()
	rows, err := s.read.QueryContext(ctx, `SELECT `+esimColumns+esimFrom+`
		WHERE e.subscriber_id = ? AND e.state = 'allocated' ORDER BY e.allocated_at, e.iccid`, subscriberID)
	if err != nil {
		return nil, err
	}
	var lines []ESIM
	for rows.Next() {
		e, err := scanESIM(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		lines = append(lines, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	plans, err := linePlans(ctx, s.read, `WHERE e.subscriber_id = ? AND e.state = 'allocated'`, subscriberID)
	if err != nil {
		return nil, err
	}
	for i := range lines {
		lines[i].Plans = plans[lines[i].ICCID]
		// Why no data? looks at where each phone last connected.
		if lines[i].LastAttachment, err = lastAttachment(ctx, s.read, lines[i].ICCID); err != nil {
			return nil, err
		}
	}
	return lines, nil
}

// ESIM returns one eSIM of the inventory with its plans.
func (s *Store) ESIM(ctx context.Context, iccid string) (_ ESIM, err error) {
	defer func() { err = failed("load eSIM", err) }()
	return esimWithPlans(ctx, s.read, iccid)
}

// esim returns one eSIM of the inventory, without its plans.
func esim(ctx context.Context, q queryer, iccid string) (ESIM, error) {
	e, err := scanESIM(q.QueryRowContext(ctx, `SELECT `+esimColumns+esimFrom+`WHERE e.iccid = ?`, iccid))
	if errors.Is(err, sql.ErrNoRows) {
		return ESIM{}, refuse(ErrNotFound, "", "No eSIM with ICCID "+iccid+".")
	}
	return e, err
}

func esimWithPlans(ctx context.Context, q queryer, iccid string) (ESIM, error) {
	e, err := esim(ctx, q, iccid)
	if err != nil {
		return ESIM{}, err
	}
	plans, err := linePlans(ctx, q, `WHERE ep.iccid = ?`, iccid)
	if err != nil {
		return ESIM{}, err
	}
	e.Plans = plans[iccid]
	e.LastAttachment, err = lastAttachment(ctx, q, iccid)
	return e, err
}

// linePlans returns the plans on the eSIMs that where selects, by ICCID, in
// the order they were added (the order they activate in).
func linePlans(ctx context.Context, q queryer, where string, args ...any) (map[string][]LinePlan, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT ep.iccid, ep.id, ep.order_number, ep.state, ep.added_at, coalesce(l.name, ''), ep.activated_at, ep.expires_at,
			ep.data_bytes, ep.used_bytes, ep.ended_at, coalesce(ep.cancel_reason, ''), ep.price_cents, ep.currency, `+planColumns+`
		FROM esim_plans ep JOIN esims e ON e.iccid = ep.iccid JOIN plans p ON p.id = ep.plan_id
		LEFT JOIN logins l ON l.id = ep.added_by `+where+` ORDER BY ep.iccid, ep.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]LinePlan{}
	for rows.Next() {
		var iccid string
		var lp LinePlan
		var activated, expires, ended nullTime
		var ps planScan
		var price int
		var currency string
		targets := append([]any{&iccid, &lp.ID, &lp.OrderNumber, &lp.State, dbTime{&lp.AddedAt}, &lp.AddedBy, &activated, &expires,
			&lp.DataBytes, &lp.UsedBytes, &ended, &lp.CancelReason, &price, &currency}, ps.targets()...)
		if err := rows.Scan(targets...); err != nil {
			return nil, err
		}
		// The order's price is the price paid, not the catalog's now.
		lp.Plan = ps.plan()
		lp.Plan.PriceCents, lp.Plan.Currency = price, currency
		lp.ActivatedAt, lp.ExpiresAt, lp.EndedAt = activated.Time, expires.Time, ended.Time
		out[iccid] = append(out[iccid], lp)
	}
	return out, rows.Err()
}

// InStock reports, for each IMSI profile, whether a free eSIM of it is left:
// whether Add line can give a new line with a plan of that profile now.
func (s *Store) InStock(ctx context.Context) (_ map[int]bool, err error) {
	defer func() { err = failed("check stock", err) }()
	out := make(map[int]bool, len(IMSIProfiles))
	for _, p := range IMSIProfiles {
		var free bool
		if err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM esims WHERE state = 'free' AND imsi_profile = ?)`, p).Scan(&free); err != nil {
			return nil, err
		}
		out[p] = free
	}
	return out, nil
}

// lineHolder follows eSIMs from the one that replaced an eSIM, next, to the
// one on the line now: its subscriber (0 if the chain ends on no line) and
// its ICCID. Few eSIMs are replaced, so it reads one eSIM at a time, each by
// its key.
func lineHolder(ctx context.Context, q queryer, next string) (owner int64, at string, err error) {
	// A replacement is always a new eSIM, so the chain ends; the bound only
	// guards against data that says otherwise.
	for steps := 0; owner == 0 && next != "" && steps < 100; steps++ {
		at = next
		if err := q.QueryRowContext(ctx, `SELECT coalesce(subscriber_id, 0), coalesce(replaced_by, '') FROM esims WHERE iccid = ?`,
			at).Scan(&owner, &next); err != nil {
			return 0, "", err
		}
	}
	return owner, at, nil
}

// FormerLine is the line a replaced eSIM was, as it is now.
type FormerLine struct {
	Subscriber Subscriber
	LineName   string
	ICCID      string // the eSIM that holds the line now
}

// FormerLine is whose line a retired eSIM was: Replace eSIM took it off the
// line, and the eSIMs that replaced it lead to the subscriber who holds the
// line now. ok is false for an eSIM that was never on a line, or is on one.
func (s *Store) FormerLine(ctx context.Context, iccid string) (_ FormerLine, ok bool, err error) {
	defer func() { err = failed("former line", err) }()
	var next string
	err = s.read.QueryRowContext(ctx, `SELECT coalesce(replaced_by, '') FROM esims WHERE iccid = ?`, iccid).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) || err == nil && next == "" {
		return FormerLine{}, false, nil
	}
	if err != nil {
		return FormerLine{}, false, err
	}
	var l FormerLine
	var owner int64
	if owner, l.ICCID, err = lineHolder(ctx, s.read, next); err != nil || owner == 0 {
		return l, false, err
	}
	if err := s.read.QueryRowContext(ctx, `SELECT line_name FROM esims WHERE iccid = ?`, l.ICCID).Scan(&l.LineName); err != nil {
		return l, false, err
	}
	l.Subscriber, err = subscriber(ctx, s.read, owner)
	return l, err == nil, err
}
