package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carrier/esim-admin/db/rules"
)

// What the networks and the SM-DP+ report of an eSIM: attachments and
// profile events. Which plan an attachment starts, and how long a plan
// lasts, are rules of package rules (db/rules/charge.go, "The life of a
// plan"); this file loads the line, calls them and writes what they did.

// MaxClockSkew is how far past the portal's clock a reported time may be:
// enough for clocks that disagree a little, not enough for a report to start
// a plan in the future.
const MaxClockSkew = 5 * time.Minute

// Attach is a report that an eSIM attached to a network: MCC or Country (or
// both, if they agree) says where.
type Attach struct {
	ICCID      string
	MCC        string
	Country    string
	AttachedAt time.Time
	// By is the team lead who simulated the attachment in the demo; the zero
	// Login is the network.
	By Login
}

// AttachResult is what an attachment changed.
type AttachResult struct {
	Attachment Attachment
	// Duplicate is set when the same attachment was already recorded.
	Duplicate bool
	// Activated is the plan the attachment started, nil if none.
	Activated *LinePlan
	// Reason says why no plan started, when none did.
	Reason string
}

// Attach records an attachment and starts the plan it activates, if any, in
// one transaction (rules.PlanToActivate has the rule). An unknown ICCID is
// ErrNotFound; an eSIM that is nobody's line is ErrConflict and nothing is
// recorded; a malformed report is ErrInvalid.
func (s *Store) Attach(ctx context.Context, req Attach) (_ AttachResult, err error) {
	defer func() { err = failed("attach", err) }()
	a, err := s.checkAttach(req)
	if err != nil {
		return AttachResult{}, err
	}
	var out AttachResult
	keep := s.Retention
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		a.ReceivedAt = tx.now
		out = AttachResult{Attachment: a}
		e, err := reportedESIM(ctx, tx, a.ICCID)
		if err != nil {
			return err
		}
		if refusal := checkStocked("attached_at", a.AttachedAt, e); refusal != nil {
			return refusal
		}
		if refusal := keep.checkKept("attached_at", keptAttachment, a.AttachedAt, tx.now); refusal != nil {
			return refusal
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO attachments (iccid, country, mcc, attached_at, received_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (iccid, country, attached_at) DO NOTHING`,
			a.ICCID, a.Country, nullString(a.MCC), formatTime(a.AttachedAt), formatTime(a.ReceivedAt))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			out.Duplicate, out.Reason = true, "duplicate event"
			return nil
		}
		// A late report of an earlier attachment moves the first one back.
		if _, err := tx.ExecContext(ctx, `UPDATE esims SET first_attached_at = ?1 WHERE iccid = ?2 AND coalesce(first_attached_at > ?1, 1)`,
			formatTime(a.AttachedAt), a.ICCID); err != nil {
			return err
		}
		if req.By.ID != 0 {
			if err := audit(ctx, tx, req.By, "simulate_attach", e.SubscriberID, a.ICCID,
				fmt.Sprintf("attached in %s at %s", rules.CountryName(a.Country), rules.DateTime(a.AttachedAt))); err != nil {
				return err
			}
		}
		plans, err := linePlans(ctx, tx, `WHERE ep.iccid = ?`, a.ICCID)
		if err != nil {
			return err
		}
		lp, reason := rules.PlanToActivate(plans[a.ICCID], a.Country, a.AttachedAt)
		if lp == nil {
			out.Reason = reason
			return nil
		}
		rules.StartPlan(lp, a.AttachedAt, tx.now)
		if _, err := tx.ExecContext(ctx, `UPDATE esim_plans SET state = ?, activated_at = ?, expires_at = ? WHERE id = ? AND state = 'queued'`,
			lp.State, formatTime(lp.ActivatedAt), formatTime(lp.ExpiresAt), lp.ID); err != nil {
			return err
		}
		out.Activated = lp
		if err := audit(ctx, tx, req.By, "activate_plan", e.SubscriberID, a.ICCID,
			fmt.Sprintf("plan %s, order %s: attached in %s at %s; active until %s",
				lp.Plan.Name, lp.OrderNumber, rules.CountryName(a.Country), rules.DateTime(lp.ActivatedAt), rules.DateTime(lp.ExpiresAt))); err != nil {
			return err
		}
		if !rules.StartNoticeDue(*lp, tx.now) {
			return nil
		}
		l, err := loadNoticeLine(ctx, tx, a.ICCID)
		if err != nil {
			return err
		}
		_, err = queueNotice(ctx, tx, l, PlanMail{Kind: EmailPlanStarted, Plan: *lp, Country: a.Country})
		return err
	})
	if err != nil {
		return AttachResult{}, err
	}
	return out, nil
}

// checkAttach validates a report and works out its country.
func (s *Store) checkAttach(req Attach) (Attachment, error) {
	a := Attachment{ICCID: strings.TrimSpace(req.ICCID), MCC: strings.TrimSpace(req.MCC)}
	if err := CheckICCID(a.ICCID); err != nil {
		return a, err
	}
	country, refusal := countryOf(req.MCC, req.Country)
	if refusal != nil {
		return a, refusal
	}
	a.Country = country
	at, err := s.checkReportTime("attached_at", req.AttachedAt)
	a.AttachedAt = at
	return a, err
}

// EarliestReport is the oldest time a network report may carry: no eSIM of
// the inventory is older, and every time from it to the clock's is one the
// database stores and reads back.
var EarliestReport = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ReportTooEarly is the refusal of a reported time before EarliestReport.
func ReportTooEarly(field string) *Error {
	return refuse(ErrInvalid, field, field+" is before 2000: no eSIM of the inventory is that old")
}

// checkReportTime refuses a missing time, one before EarliestReport or one
// in the future, and rounds it down to the millisecond the database keeps,
// so the time the rule compares is the time stored. Whether it is older
// than its eSIM, checkStocked tells.
func (s *Store) checkReportTime(field string, t time.Time) (time.Time, error) {
	if t.IsZero() {
		return t, refuse(ErrInvalid, field, field+" is required")
	}
	t = t.UTC().Truncate(time.Millisecond)
	if t.Before(EarliestReport) {
		return t, ReportTooEarly(field)
	}
	if t.After(s.Now().Add(MaxClockSkew)) {
		return t, refuse(ErrInvalid, field, field+" is in the future")
	}
	return t, nil
}

// checkStocked refuses a report of a time before its eSIM was stocked: the
// eSIM did not exist for a phone then.
func checkStocked(field string, t time.Time, e ESIM) *Error {
	if t.Before(e.StockedAt) {
		return refuse(ErrInvalid, field, fmt.Sprintf("%s is before eSIM %s was stocked (%s)", field, e.ICCID, e.StockedAt.UTC().Format(time.RFC3339)))
	}
	return nil
}

// reportedESIM returns the eSIM a network report is about, which must be
// somebody's line.
func reportedESIM(ctx context.Context, q queryer, iccid string) (ESIM, error) {
	e, err := esim(ctx, q, iccid)
	if err != nil {
		return ESIM{}, err
	}
	if e.State != StateAllocated {
		return ESIM{}, refuse(ErrConflict, "iccid", fmt.Sprintf("eSIM %s is %s, nobody's line: the report was not recorded", iccid, e.State))
	}
	return e, nil
}

// lastAttachment returns where the eSIM's phone last connected, nil if it
// never did: its latest attachment or usage record, whichever is later (a
// phone using data is connected there), the rolled-up records and
// attachments included (retention.go: a day keeps its country, last time
// and that report's MCC).
func lastAttachment(ctx context.Context, q queryer, iccid string) (*Attachment, error) {
	a := Attachment{ICCID: iccid}
	// Each side is read from its end through its index, not whole: a line
	// in use has thousands of records. No record is longer than
	// MaxUsageWindow, so the one that ends last starts at most that long
	// before the last start.
	err := q.QueryRowContext(ctx, `SELECT country, mcc, at, received_at FROM (
			SELECT * FROM (SELECT country, coalesce(mcc, '') AS mcc, attached_at AS at, received_at, id FROM attachments
				WHERE iccid = ?1 ORDER BY attached_at DESC, id DESC LIMIT 1)
			UNION ALL
			SELECT * FROM (SELECT country, coalesce(mcc, ''), end_at, received_at, id FROM usage_records
				WHERE iccid = ?1 AND start_at >= strftime('%Y-%m-%dT%H:%M:%fZ', (SELECT max(start_at) FROM usage_records WHERE iccid = ?1), ?2)
				ORDER BY end_at DESC, id DESC LIMIT 1)
			UNION ALL
			SELECT * FROM (SELECT country, coalesce(last_mcc, ''), last_at, last_at, 0 FROM usage_days WHERE iccid = ?1 ORDER BY last_at DESC LIMIT 1)
			UNION ALL
			SELECT * FROM (SELECT country, coalesce(last_mcc, ''), last_at, last_at, 0 FROM attachment_days WHERE iccid = ?1 ORDER BY last_at DESC LIMIT 1)
		) ORDER BY at DESC, id DESC LIMIT 1`, iccid, fmt.Sprintf("-%d seconds", int(MaxUsageWindow/time.Second))).
		Scan(&a.Country, &a.MCC, dbTime{&a.AttachedAt}, dbTime{&a.ReceivedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// ProfileEvent is the SM-DP+'s report of what happened to the profile on
// the phone.
type ProfileEvent struct {
	ICCID string
	Event string // one of ProfileEvents
	At    time.Time
}

// ProfileEventResult is what a profile event changed.
type ProfileEventResult struct {
	Event ProfileEvent
	// Duplicate is set when the same event was already recorded.
	Duplicate bool
	// Updated is set when the event is now the eSIM's profile state.
	Updated bool
	// State and StateAt are the eSIM's profile state after the event.
	State   string
	StateAt time.Time
}

// RecordProfileEvent records a profile event, once, and makes it the eSIM's
// profile state when it is newer than the state stored: events can arrive
// out of order, and an older one must not undo a newer one.
func (s *Store) RecordProfileEvent(ctx context.Context, ev ProfileEvent) (_ ProfileEventResult, err error) {
	defer func() { err = failed("record profile event", err) }()
	ev.ICCID = strings.TrimSpace(ev.ICCID)
	ev.Event = strings.ToLower(strings.TrimSpace(ev.Event))
	if err := CheckICCID(ev.ICCID); err != nil {
		return ProfileEventResult{}, err
	}
	if !slices.Contains(ProfileEvents, ev.Event) {
		return ProfileEventResult{}, refuse(ErrInvalid, "event",
			fmt.Sprintf("unknown event %q: one of %s", ev.Event, strings.Join(ProfileEvents, ", ")))
	}
	at, err := s.checkReportTime("at", ev.At)
	if err != nil {
		return ProfileEventResult{}, err
	}
	ev.At = at
	keep := s.Retention
	var out ProfileEventResult
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		e, err := reportedESIM(ctx, tx, ev.ICCID)
		if err != nil {
			return err
		}
		if refusal := checkStocked("at", ev.At, e); refusal != nil {
			return refusal
		}
		if refusal := keep.checkKept("at", keptProfile, ev.At, tx.now); refusal != nil {
			return refusal
		}
		out, err = recordProfileEvent(ctx, tx, ev)
		return err
	})
	if err != nil {
		return ProfileEventResult{}, err
	}
	return out, nil
}

// recordProfileEvent records a checked profile event of an eSIM that is
// somebody's line, once, and makes it the profile state when it is newer
// than the state stored.
func recordProfileEvent(ctx context.Context, tx *change, ev ProfileEvent) (ProfileEventResult, error) {
	out := ProfileEventResult{Event: ev}
	res, err := tx.ExecContext(ctx, `INSERT INTO profile_events (iccid, event, at, received_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (iccid, event, at) DO NOTHING`, ev.ICCID, ev.Event, formatTime(ev.At), formatTime(tx.now))
	if err != nil {
		return out, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return out, err
	}
	out.Duplicate = n == 0
	if !out.Duplicate {
		res, err := tx.ExecContext(ctx, `UPDATE esims SET profile_state = ?, profile_state_at = ?
			WHERE iccid = ? AND (profile_state_at IS NULL OR profile_state_at < ?)`,
			ev.Event, formatTime(ev.At), ev.ICCID, formatTime(ev.At))
		if err != nil {
			return out, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return out, err
		}
		out.Updated = n == 1
	}
	var stateAt nullTime
	err = tx.QueryRowContext(ctx, `SELECT coalesce(profile_state, ''), profile_state_at FROM esims WHERE iccid = ?`, ev.ICCID).
		Scan(&out.State, &stateAt)
	out.StateAt = stateAt.Time
	return out, err
}

// Kinds of TimelineEvent.
const (
	TimelineAllocated   = "allocated"
	TimelinePlanAdded   = "plan_added"
	TimelineEmailQueued = "email_queued"
	TimelineEmailSent   = "email_sent"
	TimelineEmailFailed = "email_failed"
	TimelineProfile     = "profile"
	TimelineAttached    = "attached"
	TimelineActivated   = "activated"
	TimelineExpired     = "expired"
	TimelineUsedUp      = "used_up"
	TimelineUsage       = "usage" // one day's data in one country
	// TimelineAttachedDay and TimelineProfileDay are a rolled-up day of
	// attachments in one country, or of one profile event (retention.go):
	// At is the day's last, Since its first, Count how many (more than
	// one: a day of one reads as that report).
	TimelineAttachedDay = "attached_day"
	TimelineProfileDay  = "profile_day"
	TimelineReplaced    = "replaced"
	TimelineCancelled   = "cancelled"
	// TimelineSMDP is the SM-DP+'s: Subject "released" (Detail the
	// MatchingID), "refused" (Detail why), or a notification point
	// ("notification point 4: Executed-Success", Detail the failure).
	TimelineSMDP = "smdp"
)

// rolledUpKind is the kind of the one report of a rolled-up day.
var rolledUpKind = map[string]string{TimelineAttachedDay: TimelineAttached, TimelineProfileDay: TimelineProfile}

// TimelineEvent is one thing that happened to a line.
type TimelineEvent struct {
	At   time.Time
	Kind string // a Timeline… constant
	// Subject is, by Kind: the line name, the plan name, the email kind, the
	// profile event or the country code.
	Subject string
	// Detail is, by Kind: the order number, the recipient, the failure, or the MCC.
	Detail string
	By     string // the login's name, for what a person did
	// Bytes and Uncovered are a day's usage and what of it no plan took.
	Bytes, Uncovered int64
	// Count and Since are a rolled-up day's number of reports and its first.
	Count int64
	Since time.Time
	// Days is set when the event sums up several consecutive rolled-up
	// days of its kind in its country, or of its event (retention.go,
	// mergeDays): how many. Since is then the first one's first report,
	// or its start for usage.
	Days int
}

// TimelineLimit is how many of its latest events a line's timeline shows:
// networks report every attachment, and a month abroad can bring many.
const TimelineLimit = 300

// Timeline returns what happened to an eSIM, oldest first: its allocation,
// its plans added, started and ended (used up, or at their 30-day end), the
// emails about it, what the phone did with the profile and where it
// attached (a rolled-up day of several as one event), and its data use per
// day and country (at the day's last record: a record per quarter hour
// would drown the rest), from the reports kept whole and the rolled-up days
// alike (retention.go). A plan's 30-day end is an event
// once its expires_at has passed, whether or not its state says so yet. At
// the same instant, an end comes first and an activation after the
// attachment that caused it, and a notice after what it tells of.
func (s *Store) Timeline(ctx context.Context, iccid string) (_ []TimelineEvent, err error) {
	defer func() { err = failed("timeline", err) }()
	rows, err := s.read.QueryContext(ctx, `
		SELECT at, kind, subject, detail, who, n, uncovered, since FROM (
			SELECT e.allocated_at AS at, 1 AS rank, 0 AS seq, 'allocated' AS kind, e.line_name AS subject, '' AS detail,
				coalesce(l.name, '') AS who, 0 AS n, 0 AS uncovered, NULL AS since
			FROM esims e LEFT JOIN logins l ON l.id = e.allocated_by WHERE e.iccid = ?1 AND e.allocated_at IS NOT NULL
			UNION ALL
			SELECT ep.added_at, 2, ep.id, 'plan_added', p.name, ep.order_number, coalesce(l.name, ''), 0, 0, NULL
			FROM esim_plans ep JOIN plans p ON p.id = ep.plan_id LEFT JOIN logins l ON l.id = ep.added_by WHERE ep.iccid = ?1
			UNION ALL
			SELECT o.queued_at, CASE WHEN o.kind IN ('qr', 'confirmation') THEN 3 ELSE 8 END, o.id, 'email_queued', o.kind, o.to_address, '', 0, 0, NULL
			FROM outbox o WHERE o.iccid = ?1
			UNION ALL
			SELECT o.sent_at, 4, o.id, 'email_sent', o.kind, o.to_address, '', 0, 0, NULL FROM outbox o WHERE o.iccid = ?1 AND o.sent_at IS NOT NULL
			UNION ALL
			SELECT o.next_attempt_at, 4, o.id, 'email_failed', o.kind, coalesce(o.last_error, ''), '', 0, 0, NULL FROM outbox o WHERE o.iccid = ?1 AND o.state = 'failed'
			UNION ALL
			SELECT pe.at, 5, pe.id, 'profile', pe.event, '', '', 0, 0, NULL FROM profile_events pe WHERE pe.iccid = ?1
			UNION ALL
			SELECT d.last_at, 5, 0, 'profile_day', d.event, '', '', d.events, 0, d.first_at FROM profile_event_days d WHERE d.iccid = ?1
			UNION ALL
			SELECT so.released_at, 3, 0, 'smdp', 'released', so.matching_id, '', 0, 0, NULL FROM smdp_orders so WHERE so.iccid = ?1 AND so.released_at IS NOT NULL
			UNION ALL
			SELECT al.at, 3, al.id, 'smdp', 'refused', al.detail, '', 0, 0, NULL FROM audit_log al WHERE al.iccid = ?1 AND al.action = 'smdp_refused'
			UNION ALL
			SELECT n.at, 5, n.id, 'smdp', 'notification point ' || n.point || ': ' || n.status || CASE WHEN n.status_code <> '' THEN ' ' || n.status_code ELSE '' END,
				n.message, '', 0, 0, NULL FROM smdp_notifications n WHERE n.iccid = ?1
			UNION ALL
			SELECT a.attached_at, 6, a.id, 'attached', a.country, coalesce(a.mcc, ''), '', 0, 0, NULL FROM attachments a WHERE a.iccid = ?1
			UNION ALL
			SELECT d.last_at, 6, 0, 'attached_day', d.country, coalesce(d.last_mcc, ''), '', d.attachments, 0, d.first_at FROM attachment_days d WHERE d.iccid = ?1
			UNION ALL
			SELECT max(at), 6, 0, 'usage', country, CASE WHEN min(rolled) THEN day ELSE '' END, '', sum(n), sum(uncovered), NULL FROM (
				SELECT substr(u.start_at, 1, 10) AS day, u.country, u.end_at AS at, u.bytes AS n, u.uncovered_bytes AS uncovered, 0 AS rolled
				FROM usage_records u WHERE u.iccid = ?1
				UNION ALL
				SELECT d.day, d.country, d.last_at, d.bytes, d.uncovered_bytes, 1 FROM usage_days d WHERE d.iccid = ?1
			) GROUP BY day, country
			UNION ALL
			SELECT al.at, 1, al.id, 'replaced', al.iccid, al.detail, coalesce(l.name, ''), 0, 0, NULL
			FROM audit_log al LEFT JOIN logins l ON l.id = al.login_id
			WHERE al.action = 'replace_esim' AND al.iccid IN (?1, (SELECT replaced_by FROM esims WHERE iccid = ?1))
			UNION ALL
			SELECT ep.ended_at, 0, ep.id, 'cancelled', p.name, ep.order_number, '', 0, 0, NULL
			FROM esim_plans ep JOIN plans p ON p.id = ep.plan_id WHERE ep.iccid = ?1 AND ep.state = 'cancelled'
			UNION ALL
			SELECT ep.activated_at, 7, ep.id, 'activated', p.name, ep.order_number, '', 0, 0, NULL
			FROM esim_plans ep JOIN plans p ON p.id = ep.plan_id WHERE ep.iccid = ?1 AND ep.activated_at IS NOT NULL
			UNION ALL
			SELECT ep.ended_at, 0, ep.id, 'used_up', p.name, ep.order_number, '', ep.data_bytes, 0, NULL
			FROM esim_plans ep JOIN plans p ON p.id = ep.plan_id WHERE ep.iccid = ?1 AND ep.state = 'used_up'
			UNION ALL
			SELECT ep.expires_at, 0, ep.id, 'expired', p.name, ep.order_number, '', ep.data_bytes - ep.used_bytes, 0, NULL
			FROM esim_plans ep JOIN plans p ON p.id = ep.plan_id
			WHERE ep.iccid = ?1 AND ep.expires_at <= ?2 AND ep.state NOT IN ('used_up', 'cancelled')
		) ORDER BY at DESC, rank DESC, seq DESC LIMIT ?3`, iccid, formatTime(s.Now()), TimelineLimit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TimelineEvent
	var days []string // by event: the day of a rolled-up day, "" for the rest
	for rows.Next() {
		var ev TimelineEvent
		var n int64
		var since nullTime
		if err := rows.Scan(dbTime{&ev.At}, &ev.Kind, &ev.Subject, &ev.Detail, &ev.By, &n, &ev.Uncovered, &since); err != nil {
			return nil, err
		}
		day := ""
		switch {
		case since.Valid: // a rolled-up day of attachments or profile events
			ev.Count, ev.Since, ev.Days = n, since.Time, 1
			day = since.Time.UTC().Format(time.DateOnly)
		case ev.Kind == TimelineUsage && ev.Detail != "": // a day of usage all rolled up
			ev.Bytes, ev.Days = n, 1
			day, ev.Detail = ev.Detail, ""
		default:
			ev.Bytes = n
		}
		out, days = append(out, ev), append(days, day)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Reverse(out)
	slices.Reverse(days)
	out = mergeDays(out, days)
	for i, ev := range out {
		if ev.Days != 1 {
			continue
		}
		out[i].Days = 0    // a day alone reads as before
		if ev.Count == 1 { // and a day of one report as that report
			out[i].Kind, out[i].Count, out[i].Since = rolledUpKind[ev.Kind], 0, time.Time{}
		}
	}
	return out, nil
}

// mergeDays shows a run of consecutive rolled-up days of one kind (usage,
// attachments or a profile event) in one country (or of one event) as one
// event in the place of its last day, Days long: once the records are
// rolled up, a fortnight abroad is one line, "12–18 Mar, Spain: 3.2 GB",
// rather than a line a day. A day of that kind in another country, or one
// with records still whole, ends the run; other events in between stay
// where they are, before it. evs are in time order, days says which are
// rolled-up days and which day each is.
func mergeDays(evs []TimelineEvent, days []string) []TimelineEvent {
	last := map[string]int{} // by kind: its latest event, while that is a rolled-up day
	merged := make([]bool, len(evs))
	for i, ev := range evs {
		j, ok := last[ev.Kind]
		switch {
		case days[i] == "":
			delete(last, ev.Kind)
			continue
		case ok && evs[j].Subject == ev.Subject && followingDay(days[j], days[i]):
			run := evs[j]
			if run.Days == 1 && ev.Kind == TimelineUsage { // a day of usage says when it began only as a run
				run.Since, _ = time.Parse(time.DateOnly, days[j])
			}
			run.At, run.Detail, run.Days = ev.At, ev.Detail, run.Days+1
			run.Bytes, run.Uncovered, run.Count = run.Bytes+ev.Bytes, run.Uncovered+ev.Uncovered, run.Count+ev.Count
			evs[i], merged[j] = run, true
		}
		last[ev.Kind] = i
	}
	out := evs[:0]
	for i, ev := range evs {
		if !merged[i] {
			out = append(out, ev)
		}
	}
	return out
}

// followingDay reports whether day b (YYYY-MM-DD) is the day after a.
func followingDay(a, b string) bool {
	t, err := time.Parse(time.DateOnly, a)
	return err == nil && t.AddDate(0, 0, 1).Format(time.DateOnly) == b
}
