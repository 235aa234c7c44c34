package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/carrier/esim-admin/db/rules"
)

// Email kinds.
const (
	EmailQR           = "qr"           // the QR code that installs the eSIM
	EmailConfirmation = "confirmation" // the order confirmation
)

// Message is a rendered email.
type Message struct {
	Subject string
	Text    string
	HTML    string
}

// QRMail is what the QR-code email says.
type QRMail struct {
	Subscriber  Subscriber
	LineName    string
	ICCID       string
	SMDPAddress string
	MatchingID  string
	// Replaces is the ICCID of the eSIM this one replaces, "" for a new line.
	Replaces string
}

// ActivationCode is what the QR code encodes.
func (m QRMail) ActivationCode() string { return rules.ActivationCode(m.SMDPAddress, m.MatchingID) }

// OrderMail is what the order confirmation says.
type OrderMail struct {
	Subscriber  Subscriber
	OrderNumber string
	LineName    string
	ICCID       string
	Plan        Plan
	OrderedAt   time.Time
}

// MailRenderer renders the emails a change of state sends. The notices are
// written to the outbox whole in the transaction that makes the change. The
// QR emails and order confirmations, which every Add line sends, are written
// as drafts with their subjects only, so the single writer does not wait for
// their templates: the store renders them when one is read whole (EmailByID,
// DueEmails), and keeps the text and HTML that were sent.
type MailRenderer interface {
	QRCode(QRMail) (Message, error)
	OrderConfirmation(OrderMail) (Message, error)
	QRSubject(QRMail) string
	OrderSubject(OrderMail) string
	PlanNotice(PlanMail) (Message, error)
	LowStock(LowStockMail) (Message, error)
}

// Email is a row of the outbox. It goes to a subscriber, or, for a
// low-stock email, to a team lead's login.
type Email struct {
	ID            int64
	Kind          string
	SubscriberID  int64 // 0 for an email to a login
	LoginID       int64 // the team lead a low-stock email goes to; 0 otherwise
	ICCID         string
	LinePlanID    int64 // the plan an order confirmation is about
	To            string
	Message       Message
	MessageID     string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	QueuedAt      time.Time
	SentAt        time.Time
	// ActivationCode is set on QR emails: the worker draws the QR image from it.
	ActivationCode string
	// BodyKeptDays is set when the email's text and HTML were removed, after
	// being kept that many days (retention.go); 0 while they are whole.
	BodyKeptDays int
	// Unwritten is why a drafted email read whole could not be rendered: it
	// cannot be sent as it is, and the others due with it still can.
	Unwritten error
	// draft is what a QR email or order confirmation says, as JSON, until
	// it is sent: its text and HTML are rendered from it (MailRenderer).
	draft string
}

// enqueueEmail writes an email to the outbox inside tx. Its Message-ID is
// fixed here, so every delivery attempt carries the same one. A notice about
// a plan that is already in the outbox is left as it was: the outbox's
// unique index makes each notice once.
func enqueueEmail(ctx context.Context, tx *change, e Email) error {
	now := formatTime(tx.now)
	_, err := tx.ExecContext(ctx, `
		INSERT INTO outbox (kind, subscriber_id, iccid, esim_plan_id, to_address, subject, text_body, html_body,
			message_id, next_attempt_at, queued_at, draft)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (esim_plan_id, kind) WHERE `+noticeKinds+` DO NOTHING`,
		e.Kind, e.SubscriberID, nullString(e.ICCID), nullID(e.LinePlanID), e.To, e.Message.Subject, e.Message.Text, e.Message.HTML,
		newMessageID(), now, now, nullString(e.draft))
	return err
}

// draftEmail is an email of kind whose subject is rendered now and whose
// text and HTML will be rendered from what when it is read (MailRenderer).
func draftEmail(kind string, subject string, what any) (Email, error) {
	draft, err := json.Marshal(what)
	return Email{Kind: kind, Message: Message{Subject: subject}, draft: string(draft)}, err
}

// render fills in the text and HTML of a drafted email. It runs outside any
// change, on the reader's goroutine.
func (s *Store) render(e *Email) (err error) {
	if e.draft == "" {
		return nil
	}
	var msg Message
	switch e.Kind {
	case EmailQR:
		var m QRMail
		if err = json.Unmarshal([]byte(e.draft), &m); err == nil {
			msg, err = s.Mail.QRCode(m)
		}
	case EmailConfirmation:
		var m OrderMail
		if err = json.Unmarshal([]byte(e.draft), &m); err == nil {
			msg, err = s.Mail.OrderConfirmation(m)
		}
	default:
		err = fmt.Errorf("a draft of a %s email", e.Kind)
	}
	if err != nil {
		return fmt.Errorf("email #%d: %w", e.ID, err)
	}
	e.Message = msg
	return nil
}

func newMessageID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "<" + hex.EncodeToString(b) + "@esim-admin>"
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const emailColumns = `o.id, o.kind, coalesce(o.subscriber_id, 0), coalesce(o.login_id, 0), coalesce(o.iccid, ''), o.to_address, o.subject, o.text_body, o.html_body,
	o.message_id, o.state, o.attempts, o.next_attempt_at, coalesce(o.last_error, ''), o.queued_at, o.sent_at,
	CASE WHEN o.kind = 'qr' THEN 'LPA:1$' || e.smdp_address || '$' || e.matching_id ELSE '' END, coalesce(o.body_kept_days, 0),
	coalesce(o.draft, '')`

const emailFrom = ` FROM outbox o LEFT JOIN esims e ON e.iccid = o.iccid `

func scanEmail(row interface{ Scan(...any) error }) (Email, error) {
	var e Email
	var sent nullTime
	err := row.Scan(&e.ID, &e.Kind, &e.SubscriberID, &e.LoginID, &e.ICCID, &e.To, &e.Message.Subject, &e.Message.Text, &e.Message.HTML,
		&e.MessageID, &e.State, &e.Attempts, dbTime{&e.NextAttemptAt}, &e.LastError, dbTime{&e.QueuedAt}, &sent, &e.ActivationCode, &e.BodyKeptDays, &e.draft)
	e.SentAt = sent.Time
	return e, err
}

// queryEmails reads emails as lists show them: a drafted email has its
// subject, and its text and HTML only when whole is set.
func (s *Store) queryEmails(ctx context.Context, whole bool, where string, args ...any) ([]Email, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+emailColumns+emailFrom+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Email
	for rows.Next() {
		e, err := scanEmail(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if whole {
		for i := range out {
			out[i].Unwritten = s.render(&out[i])
		}
	}
	return out, nil
}

// DueEmails returns up to limit queued emails whose next attempt is due at now,
// oldest first. One whose draft could not be rendered says why in Unwritten,
// so that it fails on its own and does not hold up the rest of the outbox.
func (s *Store) DueEmails(ctx context.Context, now time.Time, limit int) (_ []Email, err error) {
	defer func() { err = failed("due emails", err) }()
	return s.queryEmails(ctx, true, `WHERE o.state = 'queued' AND o.next_attempt_at <= ? ORDER BY o.next_attempt_at, o.id LIMIT ?`,
		formatTime(now), limit)
}

// NextEmailDue returns when the next queued email is due, or false when none is queued.
func (s *Store) NextEmailDue(ctx context.Context) (_ time.Time, _ bool, err error) {
	defer func() { err = failed("next email due", err) }()
	var next nullTime
	err = s.read.QueryRowContext(ctx, `SELECT min(next_attempt_at) FROM outbox WHERE state = 'queued'`).Scan(&next)
	return next.Time, next.Valid, err
}

// EmailsForSubscriber returns the subscriber's emails, newest first, as a
// list shows them: an email not sent yet may have its subject only
// (EmailByID reads one whole).
func (s *Store) EmailsForSubscriber(ctx context.Context, subscriberID int64) (_ []Email, err error) {
	defer func() { err = failed("emails of subscriber", err) }()
	return s.queryEmails(ctx, false, `WHERE o.subscriber_id = ? ORDER BY o.id DESC`, subscriberID)
}

// EmailsForESIM returns the emails sent about an eSIM, newest first, as a
// list shows them (EmailsForSubscriber).
func (s *Store) EmailsForESIM(ctx context.Context, iccid string) (_ []Email, err error) {
	defer func() { err = failed("emails of eSIM", err) }()
	return s.queryEmails(ctx, false, `WHERE o.iccid = ? ORDER BY o.id DESC`, iccid)
}

// EmailByID returns one email of the outbox, whole; one whose draft could
// not be rendered says why in Unwritten.
func (s *Store) EmailByID(ctx context.Context, id int64) (_ Email, err error) {
	defer func() { err = failed("load email", err) }()
	e, err := scanEmail(s.read.QueryRowContext(ctx, `SELECT `+emailColumns+emailFrom+`WHERE o.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Email{}, refuse(ErrNotFound, "", "No such email.")
	}
	if err != nil {
		return Email{}, err
	}
	e.Unwritten = s.render(&e)
	return e, nil
}

// MarkEmailSent records a delivered email, e as DueEmails read it (or only
// its ID): a drafted email keeps the text and HTML it was sent with from
// then on.
func (s *Store) MarkEmailSent(ctx context.Context, e Email, at time.Time) (err error) {
	defer func() { err = failed("mark email sent", err) }()
	if e.Message.Text == "" && e.Message.HTML == "" {
		// Not read whole: a draft is rendered here, not in the change.
		if e, err = s.EmailByID(ctx, e.ID); err != nil {
			return err
		}
		if e.Unwritten != nil {
			return e.Unwritten
		}
	}
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		_, err := tx.ExecContext(ctx,
			`UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL,
				text_body = iif(draft IS NULL, text_body, ?), html_body = iif(draft IS NULL, html_body, ?), draft = NULL
			WHERE id = ? AND state = 'queued'`,
			formatTime(at), e.Message.Text, e.Message.HTML, e.ID)
		return err
	})
}

// MarkEmailAttemptFailed records a failed delivery attempt: the email is tried
// again at retryAt, or, when retryAt is zero, marked failed for good.
func (s *Store) MarkEmailAttemptFailed(ctx context.Context, id int64, reason string, retryAt time.Time) (err error) {
	defer func() { err = failed("mark email attempt failed", err) }()
	return s.inTx(ctx, func(ctx context.Context, tx *change) error {
		state, next := EmailQueued, retryAt
		if retryAt.IsZero() {
			state, next = EmailFailed, tx.now
		}
		_, err := tx.ExecContext(ctx,
			`UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ? AND state = 'queued'`,
			state, reason, formatTime(next), id)
		return err
	})
}

// ResendQR queues the QR-code email of an allocated eSIM again, to the
// subscriber's current email address.
func (s *Store) ResendQR(ctx context.Context, iccid string, by Login) (_ ESIM, err error) {
	defer func() { err = failed("resend QR email", err) }()
	var e ESIM
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		var err error
		if e, err = esim(ctx, tx, iccid); err != nil {
			return err
		}
		if e.State != StateAllocated {
			return refuse(ErrConflict, "", "eSIM "+iccid+" is not allocated to anyone, so there is nobody to send its QR code to.")
		}
		if refusal := unreleased(e); refusal != nil {
			return refusal
		}
		sub, err := changeable(ctx, tx, e.SubscriberID, false)
		if err != nil {
			return err
		}
		if err := enqueueQR(ctx, tx, sub, e.LineName, e, e.Replaces); err != nil {
			return err
		}
		return audit(ctx, tx, by, "resend_qr", sub.ID, e.ICCID, fmt.Sprintf("line %q, to %s", e.LineName, sub.Email))
	})
	return e, err
}

// RetryEmail queues a failed email again, at once, keeping its Message-ID.
func (s *Store) RetryEmail(ctx context.Context, id int64, by Login) (_ Email, err error) {
	defer func() { err = failed("retry email", err) }()
	var e Email
	err = s.inTx(ctx, func(ctx context.Context, tx *change) error {
		var subscriberID sql.NullInt64
		var iccid sql.NullString
		err := tx.QueryRowContext(ctx, `UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = ?
			WHERE id = ? AND state = 'failed' RETURNING subscriber_id, iccid`, formatTime(tx.now), id).Scan(&subscriberID, &iccid)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(ErrConflict, "", "Only a failed email can be retried.")
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, by, "retry_email", subscriberID.Int64, iccid.String, "email #"+itoa(id))
	})
	if err != nil {
		return Email{}, err
	}
	e, err = s.EmailByID(ctx, id)
	return e, err
}
