package emails_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/carrier/esim-admin/emails"
)

func doc(t *testing.T, html string) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(html))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRendererQRCode(t *testing.T) {
	m := qrMail()
	msg, err := emails.Renderer{Brand: "Carrier"}.QRCode(m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := msg.Subject, "Your travel eSIM for Japan is ready to install"; got != want {
		t.Errorf("subject: got %q, want %q", got, want)
	}
	code := m.ActivationCode()

	t.Run("HTML", func(t *testing.T) {
		d := doc(t, msg.HTML)
		img := d.Find("img")
		if img.Length() != 1 {
			t.Fatalf("got %d images, want 1", img.Length())
		}
		if got, want := img.AttrOr("src", ""), "cid:"+emails.QRContentID(m.ICCID); got != want {
			t.Errorf("img src: got %q, want %q", got, want)
		}
		if got := img.AttrOr("width", ""); got != "300" {
			t.Errorf("img width: got %q, want 300", got)
		}
		if img.AttrOr("alt", "") == "" {
			t.Error("img has no alt text")
		}
		link := d.Find("a").FilterFunction(func(_ int, s *goquery.Selection) bool {
			return strings.HasPrefix(s.AttrOr("href", ""), "https://esimsetup.apple.com/")
		})
		if link.Length() != 1 {
			t.Fatalf("got %d install links, want 1", link.Length())
		}
		u, err := url.Parse(link.AttrOr("href", ""))
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Query().Get("carddata"); got != code {
			t.Errorf("carddata: got %q, want %q", got, code)
		}
		var codes []string
		d.Find("code").Each(func(_ int, s *goquery.Selection) { codes = append(codes, s.Text()) })
		for _, want := range []string{m.SMDPAddress, m.MatchingID, code} {
			if !slices.Contains(codes, want) {
				t.Errorf("monospace values %q lack %q", codes, want)
			}
		}
		text := d.Text()
		for _, want := range []string{"Ana Souza", m.ICCID, "only once", "Keep this email", "Add eSIM", "Network & internet", "first connects to a network"} {
			if !strings.Contains(text, want) {
				t.Errorf("HTML text lacks %q", want)
			}
		}
	})

	t.Run("Text", func(t *testing.T) {
		for _, want := range []string{"Ana Souza", m.SMDPAddress, m.MatchingID, code, emails.InstallURL(code), m.ICCID, "only once", "first connects to a network"} {
			if !strings.Contains(msg.Text, want) {
				t.Errorf("text lacks %q", want)
			}
		}
		if strings.Contains(msg.Text, "cid:") || strings.Contains(msg.Text, "<") {
			t.Errorf("text has markup:\n%s", msg.Text)
		}
	})

	t.Run("ErrMissingCode", func(t *testing.T) {
		m := qrMail()
		m.MatchingID = ""
		if _, err := (emails.Renderer{}).QRCode(m); err == nil {
			t.Error("rendered a QR email without a matching ID")
		}
	})
}

func TestRendererEscapes(t *testing.T) {
	m := qrMail()
	m.Subscriber.Name = `<script>alert("x")</script>`
	msg, err := emails.Renderer{}.QRCode(m)
	if err != nil {
		t.Fatal(err)
	}
	d := doc(t, msg.HTML)
	if n := d.Find("script").Length(); n != 0 {
		t.Errorf("got %d script elements, want 0", n)
	}
	if !strings.Contains(d.Text(), m.Subscriber.Name) {
		t.Error("name not shown as text")
	}
}

func TestRendererOrderConfirmation(t *testing.T) {
	m := orderMail()
	msg, err := emails.Renderer{Brand: "Carrier"}.OrderConfirmation(m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := msg.Subject, "Order ORD-2026-000123 confirmed: Euro 1 on line Europe"; got != want {
		t.Errorf("subject: got %q, want %q", got, want)
	}
	want := []string{
		"ORD-2026-000123", "Euro 1", "Europe", m.ICCID, "5 GB", "$19.00", "14 March 2026",
		"Germany, France, Italy, XK", "30 days", "does not renew", "first connects to a network",
	}
	t.Run("HTML", func(t *testing.T) {
		d := doc(t, msg.HTML)
		text := strings.Join(strings.Fields(d.Text()), " ")
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("HTML text lacks %q", w)
			}
		}
		row := d.Find("th").FilterFunction(func(_ int, s *goquery.Selection) bool { return s.Text() == "Price" })
		if got := row.Next().Text(); got != "$19.00" {
			t.Errorf("price row: got %q, want $19.00", got)
		}
	})
	t.Run("Text", func(t *testing.T) {
		for _, w := range want {
			if !strings.Contains(msg.Text, w) {
				t.Errorf("text lacks %q", w)
			}
		}
	})
	t.Run("OneDestination", func(t *testing.T) {
		m := orderMail()
		m.Plan.Destinations = []string{"JP"}
		msg, err := emails.Renderer{}.OrderConfirmation(m)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg.Text, "connects to a network in Japan") {
			t.Errorf("text does not say where the plan starts:\n%s", msg.Text)
		}
	})
	t.Run("ErrNoValidity", func(t *testing.T) {
		m := orderMail()
		m.Plan.ValidityDays = 0
		if _, err := (emails.Renderer{}).OrderConfirmation(m); err == nil {
			t.Error("rendered a confirmation without a validity")
		}
	})
}
