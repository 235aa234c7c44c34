package emails_test

import (
	"net/mail"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/emails/smtptest"
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

// part is a leaf of a received message.
type part = smtptest.Part

// parseMessage parses a raw message and returns its header and leaf parts.
func parseMessage(t *testing.T, raw []byte) (mail.Header, []part) {
	t.Helper()
	h, parts, err := smtptest.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return h, parts
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
