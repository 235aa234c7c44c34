package db

import (
	"context"
	"strconv"
)

// audit writes one entry of the audit log inside tx: who did what, to which
// subscriber or eSIM.
func audit(ctx context.Context, tx *change, by Login, action string, subscriberID int64, iccid, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, login_id, action, subscriber_id, iccid, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		formatTime(tx.now), nullID(by.ID), action, nullID(subscriberID), nullString(iccid), detail)
	return err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
