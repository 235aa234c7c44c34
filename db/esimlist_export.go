package db

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"
)

// The List as a CSV file: the same plans as its pages, streamed row by row,
// so a million eSIMs cost no more memory than a page.

// ExportHeader is the header line of the List's CSV export.
var ExportHeader = []string{"iccid", "imsi_profile", "state", "stocked_at", "subscriber_account", "subscriber_name",
	"line_name", "allocated_at", "allocated_by", "plans", "current_plan", "current_plan_state",
	"current_plan_data_used_bytes", "current_plan_data_left_bytes"}

// exportFlushRows is how often the export pushes what it wrote to the client.
const exportFlushRows = 500

// ExportESIMs writes every eSIM the filter matches as CSV, in the List's
// order, row by row as it reads them, so memory stays flat however many
// there are; flush, if not nil, is called every few hundred rows. Times are
// RFC 3339 in UTC. Activation codes are left out: they install the eSIM.
func (s *Store) ExportESIMs(ctx context.Context, f ListFilter, w io.Writer, flush func()) error {
	how, err := s.searchPlan(ctx, f)
	if err != nil {
		return err
	}
	args := f.args(s.Now())
	cw := NewCSVWriter(w)
	if err := cw.Write(ExportHeader); err != nil {
		return err
	}
	n := 0
	record := make([]string, len(ExportHeader))
	for _, part := range []byte(f.parts()) {
		p := f.plan(part, how)
		rows, err := s.read.QueryContext(ctx, `SELECT `+listColumns+p.from()+listJoins+p.where()+p.order(false), args...)
		if err != nil {
			return fmt.Errorf("export part %c: %w", part, err)
		}
		for rows.Next() {
			r, err := scanListRow(rows)
			if err != nil {
				rows.Close()
				return err
			}
			r.exportRecord(record)
			if err := cw.Write(record); err != nil {
				rows.Close()
				return err
			}
			if n++; n%exportFlushRows == 0 {
				cw.Flush()
				if err := cw.Error(); err != nil {
					rows.Close()
					return err
				}
				if flush != nil {
					flush()
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	cw.Flush()
	if flush != nil {
		flush()
	}
	return cw.Error()
}

func (r ListRow) exportRecord(out []string) {
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	copy(out, []string{r.ICCID, strconv.Itoa(r.IMSIProfile), r.State, stamp(r.StockedAt), r.AccountNumber,
		r.SubscriberName, r.LineName, stamp(r.AllocatedAt), r.AllocatedBy,
		strconv.Itoa(r.Plans), r.CurrentPlan, r.CurrentPlanState, dataCell(r.CurrentPlanUsed, r.CurrentPlanData),
		dataCell(r.CurrentPlanData-r.CurrentPlanUsed, r.CurrentPlanData)})
}

// dataCell is a byte count, empty for an eSIM with no plan.
func dataCell(n, allowance int64) string {
	if allowance == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}
