package emails_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"image"
	"image/png"
	"math/big"
	"mime"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/emails"
	"github.com/carrier/esim-admin/emails/smtptest"
)

const from = "Carrier Travel eSIM <esim@carrier.example>"

func newSender(t *testing.T, cfg emails.SMTPConfig) *emails.Sender {
	t.Helper()
	if cfg.From == "" {
		cfg.From = from
	}
	s, err := emails.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// qrEmail is the outbox row the store would hold for a QR email.
func qrEmail(t *testing.T) db.Email {
	t.Helper()
	m := qrMail()
	msg, err := emails.Renderer{Brand: "Carrier"}.QRCode(m)
	if err != nil {
		t.Fatal(err)
	}
	return db.Email{
		ID: 1, Kind: db.EmailQR, SubscriberID: m.Subscriber.ID, ICCID: m.ICCID, To: m.Subscriber.Email,
		Message: msg, MessageID: "<0123456789abcdef0123456789abcdef@esim-admin>", State: db.EmailQueued,
		ActivationCode: m.ActivationCode(),
	}
}

func confirmationEmail(t *testing.T) db.Email {
	t.Helper()
	m := orderMail()
	msg, err := emails.Renderer{Brand: "Carrier"}.OrderConfirmation(m)
	if err != nil {
		t.Fatal(err)
	}
	return db.Email{
		ID: 2, Kind: db.EmailConfirmation, SubscriberID: m.Subscriber.ID, ICCID: m.ICCID, To: m.Subscriber.Email,
		Message: msg, MessageID: "<fedcba9876543210fedcba9876543210@esim-admin>", State: db.EmailQueued,
	}
}

func TestSendQR(t *testing.T) {
	srv := smtptest.Start(t)
	e := qrEmail(t)
	if err := newSender(t, emails.SMTPConfig{Addr: srv.Addr}).Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)[0]
	if got.From != "esim@carrier.example" || len(got.To) != 1 || got.To[0] != e.To {
		t.Errorf("envelope: got %q -> %q", got.From, got.To)
	}
	h, parts := parseMessage(t, got.Data)

	t.Run("Headers", func(t *testing.T) {
		if got := h.Get("Message-Id"); got != e.MessageID {
			t.Errorf("Message-Id: got %q, want %q", got, e.MessageID)
		}
		if got, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); got != e.Message.Subject {
			t.Errorf("Subject: got %q, want %q", got, e.Message.Subject)
		}
		to, err := h.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != e.To {
			t.Errorf("To: got %v (%v), want %s", to, err, e.To)
		}
		fromAddr, err := h.AddressList("From")
		if err != nil || len(fromAddr) != 1 || fromAddr[0].Address != "esim@carrier.example" {
			t.Errorf("From: got %v (%v)", fromAddr, err)
		}
		if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt != "multipart/alternative" {
			t.Errorf("Content-Type: got %q, want multipart/alternative", mt)
		}
	})

	t.Run("Text", func(t *testing.T) {
		p := only(t, parts, "text/plain")
		if strings.Join(p.Parents, " ") != "multipart/alternative" {
			t.Errorf("text/plain inside %v", p.Parents)
		}
		if !bytes.Contains(p.Body, []byte("K2-1ABCDE-2FGHIJ")) {
			t.Errorf("text lacks the matching ID:\n%s", p.Body)
		}
	})

	html := only(t, parts, "text/html")
	img := only(t, parts, "image/png")

	t.Run("InlineImage", func(t *testing.T) {
		if want := "multipart/alternative multipart/related"; strings.Join(html.Parents, " ") != want || strings.Join(img.Parents, " ") != want {
			t.Errorf("html inside %v, image inside %v, want both in %s", html.Parents, img.Parents, want)
		}
		d, err := goquery.NewDocumentFromReader(bytes.NewReader(html.Body))
		if err != nil {
			t.Fatal(err)
		}
		src := d.Find("img").AttrOr("src", "")
		cid, ok := strings.CutPrefix(src, "cid:")
		if !ok {
			t.Fatalf("img src %q is not a cid: URL", src)
		}
		if got, want := img.Header.Get("Content-Id"), "<"+cid+">"; got != want {
			t.Errorf("Content-ID: got %q, want %q", got, want)
		}
		disp, params, err := mime.ParseMediaType(img.Header.Get("Content-Disposition"))
		if err != nil || disp != "inline" || params["filename"] != "qr-code.png" {
			t.Errorf("Content-Disposition: got %q %v (%v)", disp, params, err)
		}
	})

	t.Run("QRCode", func(t *testing.T) {
		pic, err := png.Decode(bytes.NewReader(img.Body))
		if err != nil {
			t.Fatal(err)
		}
		if b := pic.Bounds(); b.Dx() < 300 || b.Dy() < 300 {
			t.Errorf("image is %v, want at least 300x300", b.Size())
		}
		if got := decodeQR(t, pic); got != e.ActivationCode {
			t.Errorf("QR code reads %q, want %q", got, e.ActivationCode)
		}
		// The top-left finder pattern starts the first dark row and is 7
		// modules wide; at least 4 modules of white must be left of and above it.
		x0, y0, run := firstDarkRun(pic)
		module := run / 7
		if module == 0 || x0 < 4*module || y0 < 4*module {
			t.Errorf("quiet zone: code starts at (%d,%d) with %dpx modules, want at least 4 modules of margin", x0, y0, module)
		}
	})
}

func TestSendConfirmation(t *testing.T) {
	srv := smtptest.Start(t)
	e := confirmationEmail(t)
	if err := newSender(t, emails.SMTPConfig{Addr: srv.Addr}).Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	h, parts := parseMessage(t, srv.WaitFor(t, 1, 5*time.Second)[0].Data)
	if got := h.Get("Message-Id"); got != e.MessageID {
		t.Errorf("Message-Id: got %q, want %q", got, e.MessageID)
	}
	for _, p := range parts {
		if p.Type != "text/plain" && p.Type != "text/html" {
			t.Errorf("unexpected %s part", p.Type)
		}
	}
	if !bytes.Contains(only(t, parts, "text/plain").Body, []byte("does not renew")) {
		t.Error("text lacks the terms")
	}
	only(t, parts, "text/html")
}

func TestSendAuth(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{Username: "portal", Password: "s3cret"})
	e := confirmationEmail(t)

	t.Run("OK", func(t *testing.T) {
		s := newSender(t, emails.SMTPConfig{Addr: srv.Addr, Username: "portal", Password: "s3cret"})
		if err := s.Send(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		srv.WaitFor(t, 1, 5*time.Second)
	})
	t.Run("WrongPassword", func(t *testing.T) {
		s := newSender(t, emails.SMTPConfig{Addr: srv.Addr, Username: "portal", Password: "wrong"})
		err := s.Send(context.Background(), e)
		if err == nil {
			t.Fatal("sent with a wrong password")
		}
		if errors.Is(err, emails.ErrPermanent) {
			t.Errorf("a login failure is a configuration matter, not the email's: %v", err)
		}
	})
}

func TestSendRejectedRecipient(t *testing.T) {
	srv := smtptest.Start(t)
	e := confirmationEmail(t)
	srv.RejectRecipient(e.To)
	err := newSender(t, emails.SMTPConfig{Addr: srv.Addr}).Send(context.Background(), e)
	if !errors.Is(err, emails.ErrPermanent) {
		t.Errorf("got %v, want ErrPermanent", err)
	}
}

func TestSendSTARTTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := smtptest.StartWith(t, smtptest.Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	e := confirmationEmail(t)

	t.Run("UntrustedCertificate", func(t *testing.T) {
		err := newSender(t, emails.SMTPConfig{Addr: srv.Addr}).Send(context.Background(), e)
		var verr *tls.CertificateVerificationError
		if !errors.As(err, &verr) {
			t.Fatalf("got %v, want a certificate verification error", err)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("server got %d messages over an unverified connection", n)
		}
	})
	t.Run("OK", func(t *testing.T) {
		s := newSender(t, emails.SMTPConfig{Addr: srv.Addr, TLSConfig: &tls.Config{RootCAs: pool}})
		if err := s.Send(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		srv.WaitFor(t, 1, 5*time.Second)
	})
}

func TestSendTimeout(t *testing.T) {
	tarpit := smtptest.StartWith(t, smtptest.Options{Silent: true}).Addr
	e := confirmationEmail(t)

	t.Run("SilentServer", func(t *testing.T) {
		s := newSender(t, emails.SMTPConfig{Addr: tarpit, Timeout: 300 * time.Millisecond})
		done := make(chan error, 1)
		go func() { done <- s.Send(context.Background(), e) }()
		select {
		case err := <-done:
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("got %v, want a deadline error", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Send did not give up on a silent server")
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		s := newSender(t, emails.SMTPConfig{Addr: tarpit, Timeout: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		done := make(chan error, 1)
		go func() { done <- s.Send(ctx, e) }()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Send ignored the canceled context")
		}
	})
	t.Run("NoGreeting", func(t *testing.T) {
		// The greeting has a bound of its own, shorter than the attempt's.
		s := newSender(t, emails.SMTPConfig{Addr: tarpit, Timeout: time.Minute, GreetingTimeout: 200 * time.Millisecond})
		start := time.Now()
		err := s.Send(context.Background(), e)
		if took := time.Since(start); !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "greeting") || took > 5*time.Second {
			t.Errorf("a server that never greets: %v after %s, want a greeting deadline after 200ms", err, took)
		}
	})
	t.Run("NextSendGoesThrough", func(t *testing.T) {
		srv := smtptest.Start(t)
		s := newSender(t, emails.SMTPConfig{Addr: srv.Addr, Timeout: 300 * time.Millisecond})
		if err := s.Send(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		srv.WaitFor(t, 1, 5*time.Second)
	})
}

// TestSendUnconfirmed sends to a server that takes the whole message and
// never answers it: the email may have arrived, and Send says so.
func TestSendUnconfirmed(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{HangAfterData: true})
	s := newSender(t, emails.SMTPConfig{Addr: srv.Addr, Timeout: time.Minute, DataReplyTimeout: 200 * time.Millisecond})
	err := s.Send(context.Background(), confirmationEmail(t))
	if !errors.Is(err, emails.ErrUnconfirmed) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("got %v, want ErrUnconfirmed after the deadline", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("the server has %d messages, want the 1 it never confirmed", n)
	}
	t.Run("Canceled", func(t *testing.T) {
		s := newSender(t, emails.SMTPConfig{Addr: srv.Addr, Timeout: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		if err := s.Send(ctx, confirmationEmail(t)); !errors.Is(err, emails.ErrUnconfirmed) {
			t.Errorf("canceled while waiting for the answer: %v, want ErrUnconfirmed, which a shutdown must not hide", err)
		}
	})
}

func TestNewSender(t *testing.T) {
	for name, cfg := range map[string]emails.SMTPConfig{
		"ErrNoPort": {Addr: "mail.example.com", From: from},
		"ErrFrom":   {Addr: "mail.example.com:587", From: "not an address"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := emails.NewSender(cfg); err == nil {
				t.Error("accepted a bad configuration")
			}
		})
	}
}

func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	text, err := smtptest.QRTextOf(img)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// firstDarkRun finds the first dark pixel, row by row, and the length of the
// dark run it starts.
func firstDarkRun(img image.Image) (x0, y0, run int) {
	b := img.Bounds()
	dark := func(x, y int) bool { r, _, _, _ := img.At(x, y).RGBA(); return r < 0x8000 }
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if dark(x, y) {
				n := 0
				for x+n < b.Max.X && dark(x+n, y) {
					n++
				}
				return x - b.Min.X, y - b.Min.Y, n
			}
		}
	}
	return 0, 0, 0
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
