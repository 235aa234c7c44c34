package emails_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
)

// iccid builds a valid ICCID from its first 18 digits.
func iccid(prefix string) string { return prefix + string(db.LuhnDigit(prefix)) }

func subscriber() db.Subscriber {
	return db.Subscriber{ID: 7, AccountNumber: "100200300", Name: "Ana Souza", Email: "ana@example.com", Phone: "+15551234567"}
}

func qrMail() db.QRMail {
	return db.QRMail{
		Subscriber:  subscriber(),
		LineName:    "Japan",
		ICCID:       iccid("890126000000000001"),
		SMDPAddress: "smdp.example.com",
		MatchingID:  "K2-1ABCDE-2FGHIJ",
	}
}

func orderMail() db.OrderMail {
	return db.OrderMail{
		Subscriber:  subscriber(),
		OrderNumber: "ORD-2026-000123",
		LineName:    "Europe",
		ICCID:       iccid("890126000000000002"),
		Plan: db.Plan{
			ID: 3, Code: "EURO1", Name: "Euro 1", Region: "Europe", DataMB: 5000, ValidityDays: 30,
			IMSIProfile: 7, PriceCents: 1900, Active: true, Destinations: []string{"DE", "FR", "IT", "XK"},
		},
		OrderedAt: time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC),
	}
}

// part is a leaf of a MIME message, with the media types of the multiparts
// that hold it, outermost first.
type part struct {
	Parents []string
	Header  textproto.MIMEHeader
	Type    string
	Body    []byte // transfer encoding undone
}

// parseMessage parses a raw message and returns its header and leaf parts.
func parseMessage(t *testing.T, raw []byte) (mail.Header, []part) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	var parts []part
	walk(t, nil, textproto.MIMEHeader(m.Header), m.Body, &parts)
	return m.Header, parts
}

func walk(t *testing.T, parents []string, h textproto.MIMEHeader, body io.Reader, out *[]part) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type %q: %v", h.Get("Content-Type"), err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", mt, err)
			}
			walk(t, append(append([]string(nil), parents...), mt), p.Header, p, out)
		}
	}
	// NextPart has already undone quoted-printable.
	if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "base64") {
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("%s body: %v", mt, err)
	}
	*out = append(*out, part{Parents: parents, Header: h, Type: mt, Body: b})
}

// only returns the one part of media type mt.
func only(t *testing.T, parts []part, mt string) part {
	t.Helper()
	var found []part
	for _, p := range parts {
		if p.Type == mt {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("got %d %s parts, want 1", len(found), mt)
	}
	return found[0]
}
