package db

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

// Footprint is what the database holds of what grows with time, and what
// its file takes: what the README's retention figures are measured with.
type Footprint struct {
	PageSize, Pages, FreePages int64
	// Rows kept whole, and the rollup rows they become (retention.go).
	UsageRecords, UsageDays, PlanRollups int64
	Attachments, AttachmentDays          int64
	ProfileEvents, ProfileEventDays      int64
	// Emails in the outbox, and those of them that still hold their text.
	Emails, EmailTexts int64
	// Tables is each table's bytes with its indexes, largest first; only
	// when asked for (it reads every page).
	Tables []TableBytes
}

// TableBytes is what a table and its indexes take in the file.
type TableBytes struct {
	Table          string
	Bytes, Indexes int64 // the table's own pages, and its indexes'
}

// Bytes is the size of the file (its WAL aside).
func (f Footprint) Bytes() int64 { return f.Pages * f.PageSize }

// Footprint counts what the database holds and, with tables, reads what each
// table takes from SQLite's page statistics.
func (s *Store) Footprint(ctx context.Context, tables bool) (_ Footprint, err error) {
	defer func() { err = failed("database footprint", err) }()
	var f Footprint
	if err := s.read.QueryRowContext(ctx, `SELECT (SELECT page_size FROM pragma_page_size), (SELECT page_count FROM pragma_page_count),
		(SELECT freelist_count FROM pragma_freelist_count),
		(SELECT count(*) FROM usage_records), (SELECT count(*) FROM usage_days), (SELECT count(*) FROM usage_plan_rollups),
		(SELECT count(*) FROM attachments), (SELECT count(*) FROM attachment_days),
		(SELECT count(*) FROM profile_events), (SELECT count(*) FROM profile_event_days),
		(SELECT count(*) FROM outbox), (SELECT count(*) FROM outbox WHERE html_body <> '')`).Scan(
		&f.PageSize, &f.Pages, &f.FreePages, &f.UsageRecords, &f.UsageDays, &f.PlanRollups,
		&f.Attachments, &f.AttachmentDays, &f.ProfileEvents, &f.ProfileEventDays, &f.Emails, &f.EmailTexts); err != nil {
		return f, err
	}
	if !tables {
		return f, nil
	}
	rows, err := s.read.QueryContext(ctx, `SELECT coalesce(i.tbl_name, d.name), d.name = coalesce(i.tbl_name, d.name), sum(d.pgsize)
		FROM dbstat d LEFT JOIN sqlite_schema i ON i.type = 'index' AND i.name = d.name
		GROUP BY 1, 2`)
	if err != nil {
		return f, err
	}
	defer rows.Close()
	byTable := map[string]*TableBytes{}
	for rows.Next() {
		var name string
		var own bool
		var n int64
		if err := rows.Scan(&name, &own, &n); err != nil {
			return f, err
		}
		t := byTable[name]
		if t == nil {
			t = &TableBytes{Table: name}
			byTable[name] = t
		}
		if own {
			t.Bytes += n
		} else {
			t.Indexes += n
		}
	}
	if err := rows.Err(); err != nil {
		return f, err
	}
	for _, t := range byTable {
		f.Tables = append(f.Tables, *t)
	}
	slices.SortFunc(f.Tables, func(a, b TableBytes) int {
		return cmp.Or(cmp.Compare(b.Bytes+b.Indexes, a.Bytes+a.Indexes), strings.Compare(a.Table, b.Table))
	})
	return f, nil
}
