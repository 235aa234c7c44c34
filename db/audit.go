package db

import (
	"context"
	"strconv"
)

// An entry's detail is read by team leads: plans and countries by name, people
// by name, times as a person writes them (rules.DateTime), in UTC like the
// rest of the log and its export.

// auditPerson names a login in an entry's detail.
func auditPerson(l Login) string {
	if l.Name == "" {
		return l.Email
	}
	return l.Name + " (" + l.Email + ")"
}

// audit writes one entry of the audit log inside tx: who did what, to which
// subscriber or eSIM.
func audit(ctx context.Context, tx *change, by Login, action string, subscriberID int64, iccid, detail string) error {
	return writeAudit(ctx, tx, by.ID, 0, action, subscriberID, iccid, detail)
}

// auditClient writes an entry of a change an API client made, such as
// billing's update of a subscriber.
func auditClient(ctx context.Context, tx *change, clientID int64, action string, subscriberID int64, detail string) error {
	return writeAudit(ctx, tx, 0, clientID, action, subscriberID, "", detail)
}

func writeAudit(ctx context.Context, tx *change, loginID, clientID int64, action string, subscriberID int64, iccid, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, login_id, api_client_id, action, subscriber_id, iccid, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		formatTime(tx.now), nullID(loginID), nullID(clientID), action, nullID(subscriberID), nullString(iccid), detail)
	return err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ShowActivationCode records in the audit log that by opened the activation
// code of an eSIM (which installs it on any phone) and returns the eSIM:
// where tells what showed it, such as "QR email #12". The List's CSV leaves
// the codes out, and no page shows one without this.
func (s *Store) ShowActivationCode(ctx context.Context, iccid string, by Login, where string) (_ ESIM, err error) {
	defer func() { err = failed("show activation code", err) }()
	var e ESIM
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		var err error
		if e, err = esim(ctx, tx, iccid); err != nil {
			return err
		}
		return audit(ctx, tx, by, "show_activation_code", e.SubscriberID, e.ICCID, where)
	})
	return e, err
}
