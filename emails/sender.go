package emails

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"sync"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/jordan-wright/email"

	"github.com/carrier/esim-admin/db"
)

// Defaults of SMTPConfig's zero timeouts.
const (
	DefaultTimeout          = 20 * time.Second
	DefaultGreetingTimeout  = 5 * time.Second
	DefaultDataReplyTimeout = 10 * time.Minute
)

// SMTPConfig says how to reach the mail server.
type SMTPConfig struct {
	Addr     string // host:port of the submission server
	Username string // AUTH PLAIN is used only when set
	Password string
	From     string // e.g. "Carrier <esim@carrier.example>"
	// Timeout bounds a delivery attempt from dialing until the message is
	// sent: a server that accepts the connection and then says nothing must
	// not hold the worker.
	Timeout time.Duration
	// GreetingTimeout bounds connecting and the server's greeting, within
	// Timeout: a server that never greets is given up on early.
	GreetingTimeout time.Duration
	// DataReplyTimeout bounds the wait for the server's answer once the
	// whole message is sent (RFC 5321 §4.5.3.2.6 says 10 minutes): the
	// message may have arrived by then, so giving up early only makes
	// duplicates.
	DataReplyTimeout time.Duration
	// TLSConfig is used for STARTTLS, e.g. to trust a private CA. ServerName
	// defaults to the host of Addr.
	TLSConfig *tls.Config
}

// ErrPermanent marks a delivery error that sending again will not fix: the
// server refused the recipient, or the email cannot be built.
var ErrPermanent = errors.New("permanent failure")

// ErrUnconfirmed marks a delivery whose whole message the server took but
// never confirmed: it may have been delivered, so sending it again by
// itself could give the customer every email twice or more.
var ErrUnconfirmed = errors.New("the mail server took the whole message but never confirmed it, so it may have been delivered: " +
	"it is not sent again by itself; retry it if the customer did not get it")

// Sender delivers outbox emails over SMTP.
type Sender struct {
	cfg   SMTPConfig
	host  string
	from  *mail.Address
	hello string
}

// NewSender checks cfg and returns a Sender for it.
func NewSender(cfg SMTPConfig) (*Sender, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("emails: SMTP address %q: %w", cfg.Addr, err)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("emails: From address %q: %w", cfg.From, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.GreetingTimeout <= 0 {
		cfg.GreetingTimeout = DefaultGreetingTimeout
	}
	if cfg.DataReplyTimeout <= 0 {
		cfg.DataReplyTimeout = DefaultDataReplyTimeout
	}
	hello, err := os.Hostname()
	if err != nil || hello == "" {
		hello = "localhost"
	}
	return &Sender{cfg: cfg, host: host, from: from, hello: hello}, nil
}

// Send delivers one outbox email. The attempt ends when the server has taken
// the message, on any error, at the configured timeouts, or when ctx ends.
// Errors wrapping ErrPermanent will fail again; an error wrapping
// ErrUnconfirmed is an email that may have been delivered, even when ctx
// ended.
func (s *Sender) Send(ctx context.Context, e db.Email) error {
	to, err := mail.ParseAddress(e.To)
	if err != nil {
		return fmt.Errorf("%w: recipient %q: %v", ErrPermanent, e.To, err)
	}
	raw, err := s.message(e)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	err = s.deliver(ctx, to.Address, raw)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrUnconfirmed) {
		return fmt.Errorf("%w: %v", ctx.Err(), err)
	}
	return err
}

// message builds the MIME message. The Message-ID is the one fixed in the
// outbox, so a retried delivery is recognisably the same message.
func (s *Sender) message(e db.Email) ([]byte, error) {
	if e.MessageID == "" {
		return nil, fmt.Errorf("email #%d has no Message-ID", e.ID)
	}
	m := email.NewEmail()
	m.From = s.cfg.From
	m.To = []string{e.To}
	m.Subject = e.Message.Subject
	m.Text = []byte(e.Message.Text)
	m.HTML = []byte(e.Message.HTML)
	m.Headers.Set("Message-Id", e.MessageID)
	// Asks auto-responders not to answer a mailbox nobody reads.
	m.Headers.Set("Auto-Submitted", "auto-generated")
	if e.Kind == db.EmailQR {
		if e.ActivationCode == "" || e.ICCID == "" {
			return nil, fmt.Errorf("QR email #%d has no activation code or ICCID", e.ID)
		}
		img, err := QRCodePNG(e.ActivationCode)
		if err != nil {
			return nil, err
		}
		att, err := m.Attach(bytes.NewReader(img), "qr-code.png", "image/png")
		if err != nil {
			return nil, err
		}
		// HTMLRelated puts the image in a multipart/related part next to the
		// HTML, where cid: references resolve.
		att.HTMLRelated = true
		att.Header.Set("Content-ID", "<"+QRContentID(e.ICCID)+">")
		att.Header.Set("Content-Disposition", `inline; filename="qr-code.png"`)
	}
	return m.Bytes()
}

func (s *Sender) deliver(ctx context.Context, to string, raw []byte) error {
	start := time.Now()
	within := func(d time.Duration) time.Time {
		t := start.Add(d)
		if dl, ok := ctx.Deadline(); ok && dl.Before(t) {
			t = dl
		}
		return t
	}
	deadline, greeted := within(s.cfg.Timeout), within(min(s.cfg.GreetingTimeout, s.cfg.Timeout))
	dialer := net.Dialer{Deadline: greeted}
	conn, err := dialer.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}
	defer conn.Close()
	// A deadline in the past unblocks any read or write at once; once ctx
	// has ended, no later deadline replaces it.
	var mu sync.Mutex
	ended := false
	setDeadline := func(t time.Time) error {
		mu.Lock()
		defer mu.Unlock()
		if ended {
			return nil
		}
		return conn.SetDeadline(t)
	}
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		ended = true
		conn.SetDeadline(time.Unix(1, 0))
	})
	defer stop()
	if err := setDeadline(greeted); err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := setDeadline(deadline); err != nil {
		return fmt.Errorf("smtp greeting: %w", err)
	}
	if err := c.Hello(s.hello); err != nil {
		return fmt.Errorf("smtp EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := &tls.Config{}
		if s.cfg.TLSConfig != nil {
			cfg = s.cfg.TLSConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = s.host
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp STARTTLS: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("smtp AUTH: the server does not offer authentication")
		}
		// PlainAuth refuses to send the password unencrypted except to localhost.
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.host)); err != nil {
			return fmt.Errorf("smtp AUTH: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 500 {
			return fmt.Errorf("%w: smtp RCPT TO: %w", ErrPermanent, err)
		}
		return fmt.Errorf("smtp RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	// The end of the message goes out with Close, which waits for the
	// server's answer: from here on, a failure without an answer leaves the
	// email perhaps delivered.
	if err := setDeadline(time.Now().Add(s.cfg.DataReplyTimeout)); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		var reply *textproto.Error
		if !errors.As(err, &reply) {
			return fmt.Errorf("%w (waited %s for the answer to the end of DATA: %w)", ErrUnconfirmed, time.Since(start).Round(time.Millisecond), err)
		}
		return fmt.Errorf("smtp end of DATA: %w", err)
	}
	// The server has taken the message: a failed QUIT must not make the
	// worker send it again.
	_ = c.Quit()
	return nil
}

// QRCodePNG draws the QR code of an activation code as a PNG of at least
// 600px (crisp at 300 CSS pixels on high-density screens), with the 4-module
// white quiet zone scanners need around it.
func QRCodePNG(activationCode string) ([]byte, error) {
	code, err := qr.Encode(activationCode, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("emails: QR code: %w", err)
	}
	const quiet, minSize = 4, 600
	n := code.Bounds().Dx()
	total := n + 2*quiet
	// Whole pixels per module keep every module the same size.
	px := (minSize + total - 1) / total
	img := image.NewPaletted(image.Rect(0, 0, total*px, total*px), color.Palette{color.White, color.Black})
	for y := range n {
		for x := range n {
			if r, _, _, _ := code.At(x, y).RGBA(); r >= 0x8000 {
				continue
			}
			for dy := range px {
				for dx := range px {
					img.SetColorIndex((x+quiet)*px+dx, (y+quiet)*px+dy, 1)
				}
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
