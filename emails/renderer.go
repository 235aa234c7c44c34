// Package emails renders the emails the portal sends subscribers and delivers
// them from the outbox over SMTP.
package emails

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/a-h/templ"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/rules"
)

// Renderer renders the subscriber emails. It implements db.MailRenderer.
type Renderer struct {
	// Brand is the carrier's name, used to sign the emails.
	Brand string
}

var _ db.MailRenderer = Renderer{}

// QRContentID is the Content-ID of the QR image in the QR email of the eSIM
// with this ICCID: the HTML refers to it as cid:..., the sender attaches the
// image under it.
func QRContentID(iccid string) string { return "qr-" + iccid + "@esim-admin" }

// QRImage matches the QR image in a QR email's HTML: the img whose source
// is a QRContentID.
var QRImage = regexp.MustCompile(`<img[^>]*src="cid:qr-[0-9]+@esim-admin"[^>]*>`)

// InstallURL is Apple's one-tap eSIM install link for an activation code
// (iOS 17.4 and later open it in Settings).
func InstallURL(activationCode string) string {
	return "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=" + url.QueryEscape(activationCode)
}

// qrView is what the QR email shows, in both its HTML and text forms.
type qrView struct {
	Name           string
	LineName       string
	ICCID          string
	SMDPAddress    string
	MatchingID     string
	ActivationCode string
	InstallURL     string
	ImageSrc       templ.SafeURL
	Brand          string
	Replaces       string // ICCID of the eSIM this one replaces
}

// replacesText says which eSIM this one replaces, and what moved to it.
func (v qrView) replacesText() string {
	return fmt.Sprintf("This eSIM replaces your previous one for %s (ICCID %s), which no longer works: install this one, and remove the old one from your phone if it is still there. Your plans have moved to this eSIM.",
		v.LineName, v.Replaces)
}

// orderView is what the order confirmation shows.
type orderView struct {
	Name         string
	OrderNumber  string
	LineName     string
	ICCID        string
	PlanName     string
	Data         string
	Price        string
	OrderedOn    string
	Destinations []string // country names
	ValidityDays int
	Brand        string
}

// Where reads "in France" for one destination and "in one of its destinations"
// for several, for the sentence about when the plan starts.
func (v orderView) Where() string {
	if len(v.Destinations) == 1 {
		return "in " + v.Destinations[0]
	}
	return "in one of the plan's destinations"
}

// QRCode renders the email that installs the eSIM.
func (r Renderer) QRCode(m db.QRMail) (db.Message, error) {
	if m.ICCID == "" || m.SMDPAddress == "" || m.MatchingID == "" {
		return db.Message{}, errors.New("emails: QR email needs the ICCID, SM-DP+ address and matching ID")
	}
	code := m.ActivationCode()
	v := qrView{
		Name:           greetingName(m.Subscriber.Name),
		LineName:       m.LineName,
		ICCID:          m.ICCID,
		SMDPAddress:    m.SMDPAddress,
		MatchingID:     m.MatchingID,
		ActivationCode: code,
		InstallURL:     InstallURL(code),
		// cid: is not a scheme templ lets through on its own; the value is
		// built here from digits only.
		ImageSrc: templ.SafeURL("cid:" + QRContentID(m.ICCID)),
		Brand:    r.brand(),
		Replaces: m.Replaces,
	}
	subject := r.QRSubject(m)
	html, err := renderHTML(qrHTML(subject, v))
	if err != nil {
		return db.Message{}, err
	}
	return db.Message{Subject: subject, Text: qrText(v), HTML: html}, nil
}

// OrderConfirmation renders the confirmation of a plan put on an eSIM.
func (r Renderer) OrderConfirmation(m db.OrderMail) (db.Message, error) {
	if m.OrderNumber == "" || m.Plan.Name == "" {
		return db.Message{}, errors.New("emails: order confirmation needs the order number and plan")
	}
	// A confirmation that states a wrong validity is worse than none.
	if m.Plan.ValidityDays <= 0 {
		return db.Message{}, fmt.Errorf("emails: plan %q has no validity", m.Plan.Code)
	}
	v := orderView{
		Name:         greetingName(m.Subscriber.Name),
		OrderNumber:  m.OrderNumber,
		LineName:     m.LineName,
		ICCID:        m.ICCID,
		PlanName:     m.Plan.Name,
		Data:         m.Plan.Data(),
		Price:        m.Plan.Price(),
		OrderedOn:    m.OrderedAt.UTC().Format("2 January 2006"),
		Destinations: rules.CountryNames(m.Plan.Destinations),
		ValidityDays: m.Plan.ValidityDays,
		Brand:        r.brand(),
	}
	subject := r.OrderSubject(m)
	html, err := renderHTML(confirmationHTML(subject, v))
	if err != nil {
		return db.Message{}, err
	}
	return db.Message{Subject: subject, Text: confirmationText(v), HTML: html}, nil
}

// QRSubject is the subject of the QR email.
func (r Renderer) QRSubject(m db.QRMail) string {
	if m.Replaces != "" {
		return fmt.Sprintf("Your replacement travel eSIM for %s is ready to install", m.LineName)
	}
	return fmt.Sprintf("Your travel eSIM for %s is ready to install", m.LineName)
}

// OrderSubject is the subject of the order confirmation.
func (r Renderer) OrderSubject(m db.OrderMail) string {
	return fmt.Sprintf("Order %s confirmed: %s on line %s", m.OrderNumber, m.Plan.Name, m.LineName)
}

func (r Renderer) brand() string {
	if r.Brand == "" {
		return "Your mobile carrier"
	}
	return r.Brand
}

func greetingName(name string) string {
	if name = strings.TrimSpace(name); name == "" {
		return "there"
	}
	return name
}

// renderHTML renders outside any request: the emails are rendered by the
// store, inside its transaction or when it reads a drafted one, with no
// request context to pass on.
func renderHTML(c templ.Component) (string, error) {
	var b bytes.Buffer
	if err := c.Render(context.Background(), &b); err != nil {
		return "", fmt.Errorf("emails: render: %w", err)
	}
	return b.String(), nil
}

func qrText(v qrView) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("Hello %s,", v.Name)
	p("")
	p("Your travel eSIM for %s is ready to install on your phone.", v.LineName)
	p("")
	if v.Replaces != "" {
		p("%s", v.replacesText())
		p("")
	}
	p("ON AN IPHONE (iOS 17.4 or later), open this link on the phone to install it in one tap:")
	p("%s", v.InstallURL)
	p("")
	p("WITH THE QR CODE: open this email on another screen (the HTML version shows the QR code) and scan it:")
	p("- iPhone: Settings > Cellular (or Mobile Service) > Add eSIM > Use QR Code.")
	p("- Android: Settings > Network & internet > SIMs > Add eSIM (or Download a SIM instead).")
	p("")
	p("BY HAND, if you can't scan the code, choose \"Enter details manually\" and type:")
	p("  SM-DP+ address: %s", v.SMDPAddress)
	p("  Matching ID (activation code): %s", v.MatchingID)
	p("Some phones ask for the whole activation code instead:")
	p("  %s", v.ActivationCode)
	p("")
	p("GOOD TO KNOW")
	p("- This eSIM can be installed only once. Keep this email, and don't delete the eSIM from your phone.")
	p("- Install it before you leave, while you have Wi-Fi.")
	p("- Your plan starts when your phone first connects to a network in your destination, not when you install the eSIM.")
	p("")
	p("eSIM ICCID: %s (support may ask for it)", v.ICCID)
	p("")
	p("%s", v.Brand)
	return b.String()
}

func confirmationText(v orderView) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("Hello %s,", v.Name)
	p("")
	p("Thank you: your order is confirmed.")
	p("")
	p("Order number: %s", v.OrderNumber)
	p("Ordered on:   %s", v.OrderedOn)
	p("Plan:         %s", v.PlanName)
	p("Data:         %s", v.Data)
	p("Destinations: %s", strings.Join(v.Destinations, ", "))
	p("Price:        %s", v.Price)
	p("eSIM line:    %s", v.LineName)
	p("eSIM ICCID:   %s", v.ICCID)
	p("")
	p("HOW THE PLAN WORKS")
	p("- It starts by itself when your phone first connects to a network %s.", v.Where())
	p("- It lasts %d days from then, not from the day you ordered it.", v.ValidityDays)
	p("- It is a one-off plan: it does not renew, and you won't be charged again.")
	p("")
	p("%s", v.Brand)
	return b.String()
}

func fmtDays(n int) string { return fmt.Sprintf("%d days", n) }
