package db

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuditEntry is one change recorded in the audit log.
type AuditEntry struct {
	ID             int64
	At             time.Time
	LoginName      string // empty for changes the network or an API client reported
	LoginEmail     string
	APIClient      string // the API client that made the change, if one did
	Action         string
	SubscriberID   int64
	SubscriberName string
	AccountNumber  string
	ICCID          string
	Detail         string
}

// AuditFilter selects audit entries. Zero fields match everything.
type AuditFilter struct {
	LoginID    int64
	Subscriber string // account number, or subscriber id
	ICCID      string
	From, To   time.Time // To is exclusive
}

// AuditFilterInput is the audit log's filter as typed: every field a string.
type AuditFilterInput struct {
	Login, Subscriber, ICCID string
	From, To                 string // YYYY-MM-DD, both days included
}

// ParseAuditFilter reads the filter as typed. A day that is not a date is
// refused next to its field, both days at once; a login that is not a
// number matches anyone.
func ParseAuditFilter(in AuditFilterInput) (AuditFilter, error) {
	f := AuditFilter{Subscriber: cleanSearch(in.Subscriber), ICCID: cleanSearch(in.ICCID)}
	f.LoginID, _ = strconv.ParseInt(in.Login, 10, 64)
	var errs Errors
	if in.From != "" {
		t, err := time.Parse(time.DateOnly, in.From)
		if err != nil {
			errs = append(errs, refuse(ErrInvalid, "from", "From must be a date like 2026-12-01."))
		}
		f.From = t
	}
	if in.To != "" {
		t, err := time.Parse(time.DateOnly, in.To)
		if err != nil {
			errs = append(errs, refuse(ErrInvalid, "to", "To must be a date like 2026-12-31."))
		} else {
			f.To = t.AddDate(0, 0, 1) // the whole day
		}
	}
	return f, errs.Err()
}

// AuditPage is one page of the audit log, newest first, with the cursors of
// the pages around it (0 when there is none).
type AuditPage struct {
	Entries []AuditEntry
	Newer   int64 // entries with ids above this
	Older   int64 // entries with ids below this
}

// The filter is one fixed statement whose conditions switch off when their
// parameter is empty, so no SQL is assembled from pieces.
const auditQuery = `
	SELECT a.id, a.at, coalesce(l.name, ''), coalesce(l.email, ''), coalesce(c.name, ''), a.action, coalesce(a.subscriber_id, 0),
		coalesce(s.name, ''), coalesce(s.account_number, ''), coalesce(a.iccid, ''), a.detail
	FROM audit_log a LEFT JOIN logins l ON l.id = a.login_id LEFT JOIN subscribers s ON s.id = a.subscriber_id
		LEFT JOIN api_clients c ON c.id = a.api_client_id
	WHERE (:login = 0 OR a.login_id = :login)
	  AND (:subscriber = '' OR s.account_number = :subscriber COLLATE NOCASE OR CAST(a.subscriber_id AS TEXT) = :subscriber)
	  AND (:iccid = '' OR a.iccid = :iccid)
	  AND (:from = '' OR a.at >= :from)
	  AND (:to = '' OR a.at < :to)
	  AND (:before = 0 OR a.id < :before)
	  AND (:after = 0 OR a.id > :after)
	ORDER BY CASE WHEN :after = 0 THEN -a.id ELSE a.id END
	LIMIT :limit`

func (f AuditFilter) args(before, after int64, limit int) []any {
	named := func(n string, v any) any { return sql.Named(n, v) }
	return []any{
		named("login", f.LoginID), named("subscriber", strings.TrimSpace(f.Subscriber)), named("iccid", strings.TrimSpace(f.ICCID)),
		named("from", timeText(f.From)), named("to", timeText(f.To)),
		named("before", before), named("after", after), named("limit", limit),
	}
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

// AuditLog returns a page of size entries: the newest ones, or those just
// older than before, or just newer than after.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter, before, after int64, size int) (_ AuditPage, err error) {
	defer func() { err = failed("audit log", err) }()
	var page AuditPage
	err = s.eachAudit(ctx, f.args(before, after, size+1), func(e AuditEntry) error {
		page.Entries = append(page.Entries, e)
		return nil
	})
	if err != nil {
		return page, err
	}
	more := len(page.Entries) > size
	if more {
		page.Entries = page.Entries[:size]
	}
	if after != 0 {
		slices.Reverse(page.Entries)
	}
	if len(page.Entries) == 0 {
		return page, nil
	}
	first, last := page.Entries[0].ID, page.Entries[len(page.Entries)-1].ID
	// Going back in time, there are newer entries whenever we started from a
	// cursor; going forward, whenever the query found more.
	if (after == 0 && before != 0) || (after != 0 && more) {
		page.Newer = first
	}
	if (after == 0 && more) || after != 0 {
		page.Older = last
	}
	return page, nil
}

// EachAuditEntry calls fn for every entry the filter matches, newest first,
// reading them one at a time so an export of any size runs in constant memory.
func (s *Store) EachAuditEntry(ctx context.Context, f AuditFilter, fn func(AuditEntry) error) (err error) {
	defer func() { err = failed("export audit log", err) }()
	return s.eachAudit(ctx, f.args(0, 0, -1), fn)
}

func (s *Store) eachAudit(ctx context.Context, args []any, fn func(AuditEntry) error) error {
	rows, err := s.read.QueryContext(ctx, auditQuery, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.ID, dbTime{&e.At}, &e.LoginName, &e.LoginEmail, &e.APIClient, &e.Action, &e.SubscriberID,
			&e.SubscriberName, &e.AccountNumber, &e.ICCID, &e.Detail); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}
