package db

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Retention: what the portal keeps, and for how long. These rules are in the
// README too ("Retention"); this file is the one place that applies them.
//
//  1. A usage record is kept whole for Retention.UsageDays after it was
//     received. Networks send records late, and resend them; while a record
//     is kept, a resent one is known by its id and changes nothing. A record
//     whose start is more than UsageDays before the portal's clock is
//     refused (checkUsage, and again in the change that would apply it): it
//     could be one already rolled up, and can no longer be checked for
//     duplicates. A record is received at most MaxClockSkew before its start,
//     so one received before now − UsageDays − MaxClockSkew can no longer be
//     resent acceptably: that is when it is rolled up.
//  2. Rolling up adds the records, in the order they were received (their
//     ids), to one row per eSIM, UTC day of their start and country: their
//     bytes, the bytes no plan took, the first start and the last end. What
//     they charged each plan is added to the plan's usage_plan_rollups row.
//     The records and their charges are deleted in the same change, so a
//     byte is always counted once: in a record or in a rollup.
//  3. Attachments and profile events have the same window, for the same
//     reason: one reported again is known by its ICCID, country (or event)
//     and time while it is kept, and one whose time is more than UsageDays
//     before the clock is refused. Once received before now − UsageDays −
//     MaxClockSkew they are rolled up, in the order received, into one row
//     per eSIM, UTC day of their time and country (attachment_days: how
//     many, the first and last time, the last one's MCC) or event
//     (profile_event_days: how many, first and last time), and deleted in
//     the same change. The line keeps its latest state: the profile state
//     is the eSIM's own (esims.profile_state) and where the phone last
//     connected reads the rollups too (lastAttachment); its timeline shows
//     a rolled-up day as one line. An ES2+ progress report records its
//     event whatever its age: its notification, kept whole, already tells
//     one sent again (provisioning.go).
//  4. A sent email's text and HTML are removed Retention.EmailDays after it
//     was sent; what was sent (kind and subject), to whom, when and its state
//     stay, and its preview says how long it was kept. Failed and held
//     emails are never thinned: an agent may still retry them.
//  5. The audit log is kept whole; sessions and form tokens are pruned as
//     before (prune.go).
//
// The work is done by a background pass in small batches, each its own short
// change, so that an agent's change never waits long behind it; the pass
// keeps no cursor of its own (what is left to do is what is still in the
// tables), so it carries on after a restart where it stopped. Each pass ends
// by returning the freed pages to the file system (incremental vacuum).

// RetentionSettings are how long the portal keeps what it is sent.
type RetentionSettings struct {
	UsageDays int // usage records, attachments and profile events, whole
	EmailDays int // a sent email's text
}

// DefaultRetention keeps usage records whole for 90 days and email texts for
// a year (README, "Retention", says why).
var DefaultRetention = RetentionSettings{UsageDays: 90, EmailDays: 365}

func (r RetentionSettings) usageKept() time.Duration {
	return time.Duration(r.UsageDays) * 24 * time.Hour
}

// usageKeptSince is the oldest start a usage record may have at now.
func (r RetentionSettings) usageKeptSince(now time.Time) time.Time { return now.Add(-r.usageKept()) }

// Reports the usage window applies to, as its refusals name them.
const (
	keptUsage      = "usage records"
	keptAttachment = "attachments"
	keptProfile    = "profile events"
)

// checkKept refuses a report (what: a kept… constant) whose time is older
// than the usage window (rules 1 and 3).
func (r RetentionSettings) checkKept(field, what string, at, now time.Time) *Error {
	if since := r.usageKeptSince(now); at.Before(since) {
		return refuse(ErrInvalid, field, fmt.Sprintf("%s is more than %d days ago (before %s): %s are kept that long, so it can no longer be checked for duplicates and was not recorded",
			field, r.UsageDays, formatTime(since), what))
	}
	return nil
}

// Batch sizes of the retention pass: each change stays under 50 ms on a
// real file (BenchmarkRollUpUsage measures it). A batch of records dirties
// some four pages a record — its record_id and (iccid, start_at) index
// entries, its charge's plan index entry, its day's rollup row, all at
// random places — so it is the batch size that bounds a change: 50 records
// took 38 ms at the 95th percentile on a loaded machine, 25 took 15.
const (
	RollUpBatch     = 25
	ThinEmailsBatch = 100
	VacuumPages     = 256 // 1 MB of 4 KB pages a change
)

// RetentionStep is what one change of the retention pass did, and how long
// it held the writer, from its start to its commit.
type RetentionStep struct {
	Kind string // "usage", "attachment", "profile_event", "email" or "vacuum"
	Done int64  // records, attachments or events rolled up, email texts removed, pages freed
	Took time.Duration
}

// retentionChange runs fn as one change and times it from the moment it
// starts running to its commit: the time it holds the writer.
func (s *Store) retentionChange(ctx context.Context, kind string, fn func(ctx context.Context, tx *change) (int64, error)) (RetentionStep, error) {
	st := RetentionStep{Kind: kind}
	var began time.Time
	err := s.inTx(ctx, func(ctx context.Context, tx *change) error {
		began = time.Now()
		var err error
		st.Done, err = fn(ctx, tx)
		return err
	})
	if !began.IsZero() {
		st.Took = time.Since(began)
	}
	return st, err
}

// rollUpBefore is the time before which a report received can no longer be
// resent acceptably, and is rolled up (rules 1 and 3).
func (r RetentionSettings) rollUpBefore(now time.Time) time.Time {
	return r.usageKeptSince(now).Add(-MaxClockSkew)
}

// rollUpBatch finds the batch of table to roll up: reports are numbered as
// they are received, so it is the oldest ids, at most limit of them, up to
// the first one received at or after before. It returns the last id of the
// batch and its size.
func rollUpBatch(ctx context.Context, tx *change, table string, before time.Time, limit int) (last, n int64, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, received_at FROM `+table+` ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	cutoff := formatTime(before)
	for rows.Next() {
		var id int64
		var received string
		if err := rows.Scan(&id, &received); err != nil {
			return 0, 0, err
		}
		if received >= cutoff {
			break
		}
		last, n = id, n+1
	}
	return last, n, rows.Err()
}

// RollUpUsage rolls up at most limit of the oldest usage records that are
// past the usage window (rules 1 and 2) in one change.
func (s *Store) RollUpUsage(ctx context.Context, limit int) (_ RetentionStep, err error) {
	defer func() { err = failed("roll up usage", err) }()
	// The batch is read from the start of the records and charges, by
	// their keys: grouped through an index instead, SQLite would walk the
	// whole table.
	return s.rollUpReports(ctx, "usage", "usage_records", limit,
		`INSERT INTO usage_days (iccid, day, country, bytes, uncovered_bytes, first_at, last_at, records, last_mcc)
			SELECT g.*, (SELECT u.mcc FROM usage_records u NOT INDEXED
				WHERE u.id <= ?1 AND u.iccid = g.iccid AND substr(u.start_at, 1, 10) = g.day AND u.country = g.country
				ORDER BY u.end_at DESC, u.id DESC LIMIT 1)
			FROM (SELECT iccid, substr(start_at, 1, 10) AS day, country, sum(bytes), sum(uncovered_bytes), min(start_at), max(end_at), count(*)
				FROM usage_records NOT INDEXED WHERE id <= ?1 GROUP BY iccid, substr(start_at, 1, 10), country) g
			WHERE true
			ON CONFLICT (iccid, day, country) DO UPDATE SET
				bytes = bytes + excluded.bytes, uncovered_bytes = uncovered_bytes + excluded.uncovered_bytes,
				first_at = min(first_at, excluded.first_at),
				last_mcc = CASE WHEN excluded.last_at >= last_at THEN excluded.last_mcc ELSE last_mcc END,
				last_at = max(last_at, excluded.last_at),
				records = records + excluded.records`,
		`INSERT INTO usage_plan_rollups (esim_plan_id, bytes)
			SELECT esim_plan_id, sum(bytes) FROM usage_charges WHERE usage_record <= ?1 GROUP BY +esim_plan_id
			ON CONFLICT (esim_plan_id) DO UPDATE SET bytes = bytes + excluded.bytes`,
		`DELETE FROM usage_charges WHERE usage_record <= ?1`)
}

// RollUpAttachments rolls up at most limit of the oldest attachments past
// the window (rule 3) in one change.
func (s *Store) RollUpAttachments(ctx context.Context, limit int) (_ RetentionStep, err error) {
	defer func() { err = failed("roll up attachments", err) }()
	return s.rollUpReports(ctx, "attachment", "attachments", limit,
		`INSERT INTO attachment_days (iccid, day, country, attachments, first_at, last_at, last_mcc)
			SELECT g.*, (SELECT a.mcc FROM attachments a NOT INDEXED
				WHERE a.id <= ?1 AND a.iccid = g.iccid AND substr(a.attached_at, 1, 10) = g.day AND a.country = g.country
				ORDER BY a.attached_at DESC, a.id DESC LIMIT 1)
			FROM (SELECT iccid, substr(attached_at, 1, 10) AS day, country, count(*), min(attached_at), max(attached_at)
				FROM attachments NOT INDEXED WHERE id <= ?1 GROUP BY iccid, substr(attached_at, 1, 10), country) g
			WHERE true
			ON CONFLICT (iccid, day, country) DO UPDATE SET
				attachments = attachments + excluded.attachments,
				first_at = min(first_at, excluded.first_at),
				last_mcc = CASE WHEN excluded.last_at >= last_at THEN excluded.last_mcc ELSE last_mcc END,
				last_at = max(last_at, excluded.last_at)`)
}

// RollUpProfileEvents rolls up at most limit of the oldest profile events
// past the window (rule 3) in one change. The eSIM's profile state is its
// own column, which the rollup leaves as it is.
func (s *Store) RollUpProfileEvents(ctx context.Context, limit int) (_ RetentionStep, err error) {
	defer func() { err = failed("roll up profile events", err) }()
	return s.rollUpReports(ctx, "profile_event", "profile_events", limit,
		`INSERT INTO profile_event_days (iccid, day, event, events, first_at, last_at)
			SELECT * FROM (SELECT iccid, substr(at, 1, 10), event, count(*), min(at), max(at)
				FROM profile_events NOT INDEXED WHERE id <= ?1 GROUP BY iccid, substr(at, 1, 10), event)
			WHERE true
			ON CONFLICT (iccid, day, event) DO UPDATE SET
				events = events + excluded.events,
				first_at = min(first_at, excluded.first_at),
				last_at = max(last_at, excluded.last_at)`)
}

// rollUpReports adds a batch of table's oldest rows past the window to
// their day rows with the rollUp statements, run in order (their ?1 is the
// batch's last id), and deletes them, in one change.
func (s *Store) rollUpReports(ctx context.Context, kind, table string, limit int, rollUp ...string) (RetentionStep, error) {
	keep := s.Retention
	return s.retentionChange(ctx, kind, func(ctx context.Context, tx *change) (int64, error) {
		last, n, err := rollUpBatch(ctx, tx, table, keep.rollUpBefore(tx.now), limit)
		if err != nil || n == 0 {
			return 0, err
		}
		for _, q := range rollUp {
			if _, err := tx.ExecContext(ctx, q, last); err != nil {
				return 0, err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id <= ?`, last)
		return n, err
	})
}

// ThinEmails removes the text of at most limit sent emails past the email
// window (rule 4) in one change.
func (s *Store) ThinEmails(ctx context.Context, limit int) (_ RetentionStep, err error) {
	defer func() { err = failed("remove old email texts", err) }()
	days := s.Retention.EmailDays
	return s.retentionChange(ctx, "email", func(ctx context.Context, tx *change) (int64, error) {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET text_body = '', html_body = '', body_kept_days = ?1
			WHERE id IN (SELECT id FROM outbox INDEXED BY outbox_body_kept
				WHERE state = 'sent' AND body_kept_days IS NULL AND sent_at < ?2 ORDER BY sent_at LIMIT ?3)`,
			days, formatTime(tx.now.AddDate(0, 0, -days)), limit)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	})
}

// ReturnSpace gives at most pages free pages of the file back to the file
// system in one change. A database made before the portal set
// auto_vacuum=INCREMENTAL has none to give: its freed pages are reused by
// new rows instead, until a restore of a backup (which has it) replaces it.
func (s *Store) ReturnSpace(ctx context.Context, pages int) (_ RetentionStep, err error) {
	defer func() { err = failed("return free space", err) }()
	return s.retentionChange(ctx, "vacuum", func(ctx context.Context, tx *change) (int64, error) {
		var before, after int64
		if err := tx.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&before); err != nil || before == 0 {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA incremental_vacuum(%d)`, pages)); err != nil {
			return 0, err
		}
		err := tx.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&after)
		return before - after, err
	})
}

// Retain runs the retention pass until nothing is left to do or ctx ends:
// usage, attachments, profile events, then emails, then the free pages,
// batch by batch. Between two
// batches it waits as long as the last one took, so the writer is free at
// least half the time for the agents' changes. step, when set, hears of
// every batch.
func (s *Store) Retain(ctx context.Context, step func(RetentionStep)) error {
	for _, run := range []func() (RetentionStep, error){
		func() (RetentionStep, error) { return s.RollUpUsage(ctx, RollUpBatch) },
		func() (RetentionStep, error) { return s.RollUpAttachments(ctx, RollUpBatch) },
		func() (RetentionStep, error) { return s.RollUpProfileEvents(ctx, RollUpBatch) },
		func() (RetentionStep, error) { return s.ThinEmails(ctx, ThinEmailsBatch) },
		func() (RetentionStep, error) { return s.ReturnSpace(ctx, VacuumPages) },
	} {
		for {
			st, err := run()
			if err != nil {
				return err
			}
			if step != nil {
				step(st)
			}
			if st.Done == 0 {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(st.Took):
			}
		}
	}
	return nil
}

// RetainEvery runs the retention pass now and then every interval, until
// ctx ends.
func (s *Store) RetainEvery(ctx context.Context, every time.Duration, log *slog.Logger, step func(RetentionStep)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.Retain(ctx, step); err != nil && ctx.Err() == nil {
			log.Error("retention pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RetentionBacklog is how far the retention pass is behind: for each kind
// of report and for emails, how long ago the oldest thing still kept whole
// passed its window; zero when nothing waits.
type RetentionBacklog struct {
	Usage, Attachment, ProfileEvent, Email time.Duration
}

// Worst is the largest of the backlogs.
func (b RetentionBacklog) Worst() time.Duration {
	return max(b.Usage, b.Attachment, b.ProfileEvent, b.Email)
}

// RetentionBacklog reads the backlog of the retention pass: four index reads.
func (s *Store) RetentionBacklog(ctx context.Context) (_ RetentionBacklog, err error) {
	defer func() { err = failed("retention backlog", err) }()
	var b RetentionBacklog
	now := s.Now()
	var received, attached, evented, sent nullTime
	if err := s.read.QueryRowContext(ctx, `SELECT (SELECT received_at FROM usage_records ORDER BY id LIMIT 1),
		(SELECT received_at FROM attachments ORDER BY id LIMIT 1),
		(SELECT received_at FROM profile_events ORDER BY id LIMIT 1),
		(SELECT min(sent_at) FROM outbox INDEXED BY outbox_body_kept WHERE state = 'sent' AND body_kept_days IS NULL)`).
		Scan(&received, &attached, &evented, &sent); err != nil {
		return b, err
	}
	for _, r := range []struct {
		at  nullTime
		out *time.Duration
	}{{received, &b.Usage}, {attached, &b.Attachment}, {evented, &b.ProfileEvent}} {
		if r.at.Valid {
			*r.out = max(s.Retention.rollUpBefore(now).Sub(r.at.Time), 0)
		}
	}
	if sent.Valid {
		b.Email = max(now.AddDate(0, 0, -s.Retention.EmailDays).Sub(sent.Time), 0)
	}
	return b, nil
}
