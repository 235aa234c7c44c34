package emails_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/carrier/esim-admin/emails"
)

func TestRedactAddresses(t *testing.T) {
	for in, want := range map[string]string{
		"550 5.1.1 <ahmed.hassan@example.com>: Recipient address rejected": "550 5.1.1 <[address]>: Recipient address rejected",
		"/subscribers/maria.garcia%40example.com/lines":                    "/subscribers/[address]/lines",
		"to: O'Brien+travel@mail.example.co.uk, then":                      "to: [address], then",
		"no address here, just @ and a.b":                                  "no address here, just @ and a.b",
		"Message-ID <0123@esim-admin>":                                     "Message-ID <0123@esim-admin>",
	} {
		if got := emails.RedactAddresses(in); got != want {
			t.Errorf("RedactAddresses(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRedactHandler logs addresses every way a caller might: none reaches
// the output.
func TestRedactHandler(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(emails.Redact(slog.NewJSONHandler(&out, nil)))
	log = log.With("to", "a@example.com")
	log.WithGroup("g").Error("sending to b@example.com failed",
		"err", errors.New("RCPT TO <c@example.com>: refused"), slog.Group("rcpt", "addr", "d@example.com"), "attempt", 2)
	if got := out.String(); strings.Contains(got, "example.com") || strings.Count(got, "[address]") != 4 || !strings.Contains(got, `"attempt":2`) {
		t.Errorf("log line %s", got)
	}
}
