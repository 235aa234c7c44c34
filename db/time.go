package db

import (
	"fmt"
	"time"

	"github.com/carrier/esim-admin/db/rules"
)

// timeFormat is fixed-width UTC, so stored times sort correctly as text.
const timeFormat = rules.TimeFormat

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// nullTime scans a nullable time column.
type nullTime struct {
	Time  time.Time
	Valid bool
}

func (n *nullTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		n.Time, n.Valid = time.Time{}, false
		return nil
	case string:
		t, err := time.Parse(timeFormat, v)
		if err != nil {
			return err
		}
		n.Time, n.Valid = t, true
		return nil
	case []byte:
		return n.Scan(string(v))
	}
	return fmt.Errorf("db: cannot scan %T as a time", v)
}

// dbTime scans a NOT NULL time column.
type dbTime struct{ *time.Time }

func (d dbTime) Scan(v any) error {
	var n nullTime
	if err := n.Scan(v); err != nil {
		return err
	}
	if !n.Valid {
		return fmt.Errorf("db: unexpected NULL time")
	}
	*d.Time = n.Time
	return nil
}

// timeArg turns a time into a query argument; the zero time becomes NULL.
func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// FormatTime writes t the way the store keeps times: UTC to the millisecond,
// fixed width so that times sort as text.
func FormatTime(t time.Time) string { return formatTime(t) }
