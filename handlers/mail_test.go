package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/emails/smtptest"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// mimePart is a leaf of a received message.
type mimePart = smtptest.Part

// parseMail parses a raw message into its header and leaf parts.
func parseMail(t *testing.T, raw []byte) (mail.Header, []mimePart) {
	t.Helper()
	h, parts, err := smtptest.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return h, parts
}

func partsOf(parts []mimePart, prefix string) []mimePart {
	var out []mimePart
	for _, p := range parts {
		if strings.HasPrefix(p.Type, prefix) {
			out = append(out, p)
		}
	}
	return out
}

func subject(t *testing.T, h mail.Header) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject %q: %v", h.Get("Subject"), err)
	}
	return s
}

// decodeQR reads the text of the QR code in a PNG.
func decodeQR(t *testing.T, img []byte) string {
	t.Helper()
	text, err := smtptest.QRText(img)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestAddLineDelivery(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	app := portaltest.StartWith(t, portaltest.Options{Mail: smtp})
	c := app.Agent(t)
	daniel := app.Subscriber(t, "AC-100697")
	japan := app.Plan(t, "Japan")
	profile := fmt.Sprintf("/subscribers/%d", daniel.ID)

	iccid := addedLine(t, app, c.Post(t, profile+"/lines", addLineForm(t, c, daniel.ID, "Japan", japan.ID)), daniel.ID, "Japan")
	esim, err := app.Store.ESIM(context.Background(), iccid)
	if err != nil {
		t.Fatalf("eSIM %s: %v", iccid, err)
	}
	if len(esim.Plans) != 1 {
		t.Fatalf("eSIM %s has %d plans, want 1", iccid, len(esim.Plans))
	}
	order := esim.Plans[0].OrderNumber

	msgs := smtp.WaitFor(t, 2, 15*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("server got %d messages, want 2", len(msgs))
	}
	var qr, confirmation []byte
	for _, m := range msgs {
		if got, want := m.To, []string{daniel.Email}; !slices.Equal(got, want) {
			t.Errorf("message to %q, want %q", got, want)
		}
		h, _ := parseMail(t, m.Data)
		if strings.Contains(subject(t, h), order) {
			confirmation = m.Data
		} else {
			qr = m.Data
		}
	}
	if qr == nil || confirmation == nil {
		t.Fatalf("want one QR email and one order confirmation naming %s", order)
	}

	t.Run("QRCode", func(t *testing.T) {
		_, parts := parseMail(t, qr)
		html := partsOf(parts, "text/html")
		if len(html) != 1 {
			t.Fatalf("got %d HTML parts, want 1", len(html))
		}
		doc, err := goquery.NewDocumentFromReader(bytes.NewReader(html[0].Body))
		if err != nil {
			t.Fatal(err)
		}
		src := doc.Find(`img[src^="cid:"]`).AttrOr("src", "")
		cid, ok := strings.CutPrefix(src, "cid:")
		if !ok {
			t.Fatalf("the HTML shows no cid: image")
		}
		var img []byte
		for _, p := range partsOf(parts, "image/png") {
			if p.Header.Get("Content-ID") == "<"+cid+">" {
				img = p.Body
			}
		}
		if img == nil {
			t.Fatalf("no image/png part with Content-ID <%s>", cid)
		}
		want := "LPA:1$" + esim.SMDPAddress + "$" + esim.MatchingID
		if got := decodeQR(t, img); got != want {
			t.Errorf("QR code reads %q, want %q", got, want)
		}
		if text := partsOf(parts, "text/plain"); len(text) != 1 || !bytes.Contains(text[0].Body, []byte(esim.MatchingID)) {
			t.Errorf("the text part does not give the matching ID %s for manual entry", esim.MatchingID)
		}
	})
	t.Run("Confirmation", func(t *testing.T) {
		h, parts := parseMail(t, confirmation)
		if got := subject(t, h); !strings.Contains(got, order) {
			t.Errorf("subject = %q, want the order number %s", got, order)
		}
		if imgs := partsOf(parts, "image/"); len(imgs) != 0 {
			t.Errorf("the confirmation carries %d images, want none", len(imgs))
		}
	})
	t.Run("EmailLogSent", func(t *testing.T) {
		// The worker marks an email sent just after the server took it.
		deadline := time.Now().Add(10 * time.Second)
		want := []emailRow{{"Order confirmation", "Sent"}, {"QR code", "Sent"}}
		for {
			got := emailLog(c.Page(t, profile))
			if slices.Equal(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("email log = %+v, want %+v", got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
