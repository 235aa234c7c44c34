package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/emails/smtptest"
	"github.com/carrier/esim-admin/handlers/portaltest"
	"github.com/carrier/esim-admin/smdp"
	"github.com/carrier/esim-admin/smdp/smdptest"
)

// smdpPortal is a portal with the fake SM-DP+ over real mutual TLS and a
// test mail server.
type smdpPortal struct {
	*portaltest.Portal
	fake  *smdptest.Server
	smtp  *smtptest.Server
	agent *portaltest.Client
}

func startSMDP(t *testing.T, timeout time.Duration) *smdpPortal {
	t.Helper()
	fake := smdptest.StartTB(t)
	fake.RequesterID = "carrier-test"
	t.Cleanup(func() {
		if v := fake.Violations(); len(v) > 0 {
			t.Errorf("the portal's ES2+ requests broke the spec: %q", v)
		}
	})
	smtp := smtptest.Start(t)
	app := portaltest.StartWith(t, portaltest.Options{Mail: smtp, SMDP: fake, SMDPTimeout: timeout, Configure: withMetricsToken})
	return &smdpPortal{Portal: app, fake: fake, smtp: smtp, agent: app.Agent(t)}
}

// addLine adds a Japan line for Daniel and returns its ICCID.
func (p *smdpPortal) addLine(t *testing.T, name string) (db.Subscriber, string) {
	t.Helper()
	daniel := p.Subscriber(t, "AC-100697")
	form := addLineForm(t, p.agent, daniel.ID, name, p.Plan(t, "Japan").ID)
	return daniel, addedLine(t, p.Portal, p.agent.Post(t, fmt.Sprintf("/subscribers/%d/lines", daniel.ID), form), daniel.ID, name)
}

// esim reads an eSIM from the store.
func (p *smdpPortal) esim(t *testing.T, iccid string) db.ESIM {
	t.Helper()
	e, err := p.Store.ESIM(context.Background(), iccid)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// waitESIM waits until the eSIM is as done says, checking each time the
// store records an SM-DP+ outcome or the fake takes a call; it fails after
// 15 seconds.
func (p *smdpPortal) waitESIM(t *testing.T, iccid, what string, done func(db.ESIM) bool) db.ESIM {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		e := p.esim(t, iccid)
		if done(e) {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("eSIM %s: want %s; the SM-DP+ order is %+v", iccid, what, e.SMDP)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// retryNow moves the clock past the next retry and wakes the worker.
func (p *smdpPortal) retryNow(t *testing.T, iccid string) {
	t.Helper()
	next := p.esim(t, iccid).SMDP.NextAttemptAt
	p.Clock.Advance(next.Sub(p.Store.Now()) + time.Second)
	p.WakeProvisioning()
}

// qrEmails are the QR emails the mail server received for to, by the
// activation code their QR image reads.
func qrCodes(t *testing.T, msgs []smtptest.Received, to string) []string {
	t.Helper()
	var codes []string
	for _, m := range msgs {
		if len(m.To) != 1 || m.To[0] != to {
			continue
		}
		_, parts := parseMail(t, m.Data)
		for _, img := range partsOf(parts, "image/png") {
			codes = append(codes, decodeQR(t, img.Body))
		}
	}
	return codes
}

func lineStatus(t *testing.T, c *portaltest.Client, sub db.Subscriber, iccid string) (install, why string) {
	t.Helper()
	doc := c.Page(t, fmt.Sprintf("/subscribers/%d", sub.ID))
	line := doc.Find("#line-" + iccid)
	if line.Length() != 1 {
		t.Fatalf("no line %s on the profile", iccid)
	}
	return text(line.Find("[data-testid=install-status]")), text(line.Find("[data-testid=why-no-data]"))
}

func TestSMDPAddLine(t *testing.T) {
	t.Parallel()
	p := startSMDP(t, 0)
	daniel, iccid := p.addLine(t, "Japan")

	msgs := p.smtp.WaitFor(t, 2, 15*time.Second)
	e := p.esim(t, iccid)
	held := p.fake.Profile(iccid)
	if held.State != smdptest.Released || held.MatchingID == "" {
		t.Fatalf("the SM-DP+ holds the profile as %+v, want Released with a MatchingID", held)
	}
	if e.SMDP.State != db.SMDPReleased || e.MatchingID != held.MatchingID || e.SMDPAddress != p.fake.Address {
		t.Errorf("eSIM %s: order %q, activation code %s$%s; want released with the SM-DP+'s %s$%s",
			iccid, e.SMDP.State, e.SMDPAddress, e.MatchingID, p.fake.Address, held.MatchingID)
	}
	want := "LPA:1$" + p.fake.Address + "$" + held.MatchingID
	if got := qrCodes(t, msgs, daniel.Email); len(got) != 1 || got[0] != want {
		t.Errorf("the QR emails read %q, want one reading %q", got, want)
	}
	calls := p.fake.Calls()
	if len(calls) != 2 || calls[0].Function != smdp.FuncDownloadOrder || calls[1].Function != smdp.FuncConfirmOrder {
		t.Fatalf("the SM-DP+ got %+v, want downloadOrder then confirmOrder", calls)
	}
	if got := calls[1].Body; got["releaseFlag"] != true || got["matchingId"] != held.MatchingID || got["iccid"] != iccid {
		t.Errorf("confirmOrder sent %v, want releaseFlag true, the portal's matchingId and the ICCID", got)
	}
	if install, _ := lineStatus(t, p.agent, daniel, iccid); !strings.Contains(install, "Not installed yet") {
		t.Errorf("the line says %q once released", install)
	}
}

// The SM-DP+ is down for a while: the QR email waits, the line says so,
// and the email goes once, when it is back.
func TestSMDPDown(t *testing.T) {
	t.Parallel()
	p := startSMDP(t, 0)
	p.fake.Fail(smdp.FuncDownloadOrder, smdptest.Fault{Kind: smdptest.FaultHTTP, HTTPStatus: http.StatusServiceUnavailable},
		smdptest.Fault{Kind: smdptest.FaultDrop})
	daniel, iccid := p.addLine(t, "Japan")

	p.waitESIM(t, iccid, "one failed try", func(e db.ESIM) bool { return e.SMDP.Attempts == 1 })
	install, why := lineStatus(t, p.agent, daniel, iccid)
	if !strings.HasPrefix(install, "Waiting for the SM-DP+ — 1 try, next at ") || !strings.Contains(why, "Waiting for the SM-DP+") {
		t.Errorf("the line says %q, Why no data? %q; want both to say it waits for the SM-DP+", install, why)
	}
	if n := p.Count(t, `SELECT count(*) FROM outbox WHERE iccid = ? AND kind = 'qr'`, iccid); n != 0 {
		t.Errorf("%d QR emails in the outbox before the SM-DP+ released the profile, want none", n)
	}
	p.retryNow(t, iccid)
	p.waitESIM(t, iccid, "two failed tries", func(e db.ESIM) bool { return e.SMDP.Attempts == 2 })
	p.retryNow(t, iccid)
	msgs := p.smtp.WaitFor(t, 2, 15*time.Second)
	if got := qrCodes(t, msgs, daniel.Email); len(got) != 1 {
		t.Errorf("%d QR emails, want 1", len(got))
	}
	if got := p.fake.CallsOf(smdp.FuncConfirmOrder); got != 1 {
		t.Errorf("%d confirmOrders, want 1", got)
	}
}

// An answer lost after the SM-DP+ acted: the retry finds the portal's own
// work done and goes on; nothing is ordered twice.
func TestSMDPLostAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		function string
		faults   []smdptest.Fault
		timeout  time.Duration
	}{
		{"DownloadOrder", smdp.FuncDownloadOrder, []smdptest.Fault{{Kind: smdptest.FaultLoseAnswer}}, 0},
		{"ConfirmOrder", smdp.FuncConfirmOrder, []smdptest.Fault{{Kind: smdptest.FaultLoseAnswer}}, 0},
		// Some SM-DP+s answer a second confirmOrder "profile already in use"
		// rather than "MatchingID already used".
		{"ConfirmOrderInUse", smdp.FuncConfirmOrder, []smdptest.Fault{{Kind: smdptest.FaultLoseAnswer}, {Kind: smdptest.FaultStatus, Code: smdp.ProfileInUse}}, 0},
		{"ConfirmOrderTimeout", smdp.FuncConfirmOrder, []smdptest.Fault{{Kind: smdptest.FaultTimeout}}, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startSMDP(t, tc.timeout)
			p.fake.Fail(tc.function, tc.faults...)
			daniel, iccid := p.addLine(t, "Japan")
			p.waitESIM(t, iccid, "one failed try", func(e db.ESIM) bool { return e.SMDP.Attempts == 1 })
			p.retryNow(t, iccid)
			e := p.waitESIM(t, iccid, "released", func(e db.ESIM) bool { return e.SMDP.State != db.SMDPQueued })
			if e.SMDP.State != db.SMDPReleased {
				t.Fatalf("the order is %q (%s), want released", e.SMDP.State, e.SMDP.Refusal)
			}
			held := p.fake.Profile(iccid)
			if e.MatchingID != held.MatchingID || held.State != smdptest.Released {
				t.Errorf("the eSIM's MatchingID is %s; the SM-DP+ holds %+v", e.MatchingID, held)
			}
			msgs := p.smtp.WaitFor(t, 2, 15*time.Second)
			want := "LPA:1$" + e.SMDPAddress + "$" + held.MatchingID
			if got := qrCodes(t, msgs, daniel.Email); len(got) != 1 || got[0] != want {
				t.Errorf("QR emails %q, want one of %q", got, want)
			}
		})
	}
}

// A Failed answer is final: the line says what the SM-DP+ said and offers
// Replace eSIM, which retires the eSIM with that reason and gives the line
// a profile that works.
func TestSMDPRefused(t *testing.T) {
	t.Parallel()
	p := startSMDP(t, 0)
	p.fake.Fail(smdp.FuncDownloadOrder, smdptest.Fault{Kind: smdptest.FaultStatus, Code: smdp.ProfileInUse})
	daniel, iccid := p.addLine(t, "Japan")
	p.waitESIM(t, iccid, "refused", func(e db.ESIM) bool { return e.SMDP.State == db.SMDPRefused })
	if got := p.agent.Page(t, "/esims?q="+iccid).Find(`[data-iccid="` + iccid + `"] [data-testid=smdp-state]`).Text(); got != "SM-DP+: refused" {
		t.Errorf("the List's row says %q, want the SM-DP+'s refusal", got)
	}

	install, why := lineStatus(t, p.agent, daniel, iccid)
	if !strings.Contains(install, "the SM-DP+ says this profile is already in use — Replace eSIM") {
		t.Errorf("the line says %q", install)
	}
	if !strings.Contains(why, "already in use") {
		t.Errorf("Why no data? says %q", why)
	}
	if r := p.agent.Post(t, "/esims/"+iccid+"/resend-qr", url.Values{"_csrf": {p.agent.CSRF}}); r.Status < 400 {
		t.Errorf("Resend QR email of a refused eSIM answered %d", r.Status)
	}
	if n := p.Count(t, `SELECT count(*) FROM outbox WHERE iccid = ? AND kind = 'qr'`, iccid); n != 0 {
		t.Errorf("%d QR emails of the refused eSIM, want none", n)
	}

	r := p.agent.Post(t, "/esims/"+iccid+"/replace", url.Values{"_csrf": {p.agent.CSRF}, "reason": {"The QR code never worked"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("Replace eSIM answered %d", r.Status)
	}
	fresh := p.Lines(t, daniel.ID)[0].ICCID
	if fresh == iccid {
		t.Fatal("the line still has the refused eSIM")
	}
	p.waitESIM(t, fresh, "released", func(e db.ESIM) bool { return e.SMDP.State == db.SMDPReleased })
	old := p.esim(t, iccid)
	if old.State != db.StateRetired || !strings.Contains(old.RetiredReason, "refused by the SM-DP+ (8.2.1/3.3)") {
		t.Errorf("the refused eSIM is %s, %q", old.State, old.RetiredReason)
	}
	msgs := p.smtp.WaitUntil(t, "the replacement's QR email", func(msgs []smtptest.Received) bool { return len(qrCodes(t, msgs, daniel.Email)) == 1 }, 15*time.Second)
	if got, want := qrCodes(t, msgs, daniel.Email), "LPA:1$"+p.fake.Address+"$"+p.fake.Profile(fresh).MatchingID; got[0] != want {
		t.Errorf("the QR email reads %q, want %q", got[0], want)
	}
	if n := p.fake.CallsOf(smdp.FuncCancelOrder); n != 0 {
		t.Errorf("%d cancelOrders for a refused profile, want none", n)
	}
}

// Replace eSIM cancels the old eSIM's order at the SM-DP+ for good: a
// profile released and never downloaded, or one allocated whose
// confirmOrder did not go through.
func TestSMDPReplaceCancels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		faults []smdptest.Fault // of confirmOrder
		ready  func(db.ESIM) bool
	}{
		{"Released", nil, func(e db.ESIM) bool { return e.SMDP.State == db.SMDPReleased }},
		{"Allocated", []smdptest.Fault{{Kind: smdptest.FaultHTTP}}, func(e db.ESIM) bool { return e.SMDP.Attempts == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startSMDP(t, 0)
			p.fake.Fail(smdp.FuncConfirmOrder, tc.faults...)
			_, iccid := p.addLine(t, "Japan")
			old := p.waitESIM(t, iccid, "ready to replace", tc.ready)
			r := p.agent.Post(t, "/esims/"+iccid+"/replace", url.Values{"_csrf": {p.agent.CSRF}, "reason": {"New or lost phone"}})
			if r.Status != http.StatusSeeOther {
				t.Fatalf("Replace eSIM answered %d", r.Status)
			}
			p.waitESIM(t, iccid, "cancelled", func(e db.ESIM) bool { return e.SMDP.State == db.SMDPCancelled })
			if got := p.fake.Profile(iccid); got.State != smdptest.Unavailable {
				t.Errorf("the old profile is %+v at the SM-DP+, want Unavailable", got)
			}
			wantID := any(nil)
			if old.SMDP.State == db.SMDPReleased {
				wantID = old.MatchingID
			}
			for _, c := range p.fake.Calls() {
				if c.Function == smdp.FuncCancelOrder && (c.Body["matchingId"] != wantID || c.Body["finalProfileStatusIndicator"] != smdp.FinalUnavailable) {
					t.Errorf("cancelOrder sent %v, want the MatchingID %v and Unavailable", c.Body, wantID)
				}
			}
			if e := p.esim(t, iccid); e.SMDP.Refusal != "" {
				t.Errorf("the cancelled order says %q", e.SMDP.Refusal)
			}
			if got := text(p.agent.Page(t, "/esims/"+iccid).Find("[data-testid=smdp-state]")); got != "Order cancelled: the profile is out of use" {
				t.Errorf("the eSIM page says %q of the SM-DP+", got)
			}
		})
	}
}

// The provisioning worker's state is in the database: a new one, after a
// restart, carries on, and nothing goes twice.
func TestSMDPRestart(t *testing.T) {
	t.Parallel()
	p := startSMDP(t, 0)
	p.fake.Fail(smdp.FuncConfirmOrder, smdptest.Fault{Kind: smdptest.FaultHTTP})
	daniel, iccid := p.addLine(t, "Japan")
	p.waitESIM(t, iccid, "one failed try", func(e db.ESIM) bool { return e.SMDP.Attempts == 1 })
	p.StopProvisioning()
	p.Clock.Advance(time.Hour)
	p.StartProvisioning()
	p.smtp.WaitUntil(t, "the QR email", func(msgs []smtptest.Received) bool { return len(qrCodes(t, msgs, daniel.Email)) > 0 }, 15*time.Second)
	if d, c := p.fake.CallsOf(smdp.FuncDownloadOrder), p.fake.CallsOf(smdp.FuncConfirmOrder); d != 1 || c != 2 {
		t.Errorf("%d downloadOrders and %d confirmOrders, want 1 and 2: a restart repeats only what did not go through", d, c)
	}
	if got := qrCodes(t, p.smtp.Messages(), daniel.Email); len(got) != 1 {
		t.Errorf("%d QR emails, want 1", len(got))
	}
}

// progressBody is a handleDownloadProgressInfo as an SM-DP+ writes it.
func progressBody(iccid string, point any, status, tsKey string, at time.Time, code *smdp.StatusCodeData) []byte {
	st := smdp.ExecutionStatus{Status: status, StatusCodeData: code}
	b, _ := smdp.Marshal(map[string]any{
		"header": map[string]any{"functionRequesterIdentifier": "smdp", "functionCallIdentifier": "1"},
		"iccid":  iccid, "profileType": "travel", tsKey: at.UTC().Format(time.RFC3339),
		"notificationPointId": point, "notificationPointStatus": st,
	})
	return b
}

func TestES2DownloadProgress(t *testing.T) {
	t.Parallel()
	p := startSMDP(t, 0)
	daniel, iccid := p.addLine(t, "Japan")
	p.waitESIM(t, iccid, "released", func(e db.ESIM) bool { return e.SMDP.State == db.SMDPReleased })
	ctx := context.Background()
	now := p.Store.Now().Truncate(time.Second)
	post := func(body []byte) int {
		t.Helper()
		code, err := p.fake.Post(ctx, p.ES2URL, body)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	refused := smdp.EndUserRefused
	steps := []struct {
		name        string
		body        []byte
		wantStatus  int
		wantInstall string
	}{
		{"Eligibility", progressBody(iccid, 1, smdp.StatusSuccess, "timestamp", now.Add(-5*time.Minute), nil), 204, "Not installed yet"},
		{"Refused", progressBody(iccid, 3, smdp.StatusFailed, "timestamp", now.Add(-4*time.Minute), &refused), 204,
			"the customer refused the download — ask them to scan the QR again, or Replace eSIM"},
		{"Installed", progressBody(iccid, "4", smdp.StatusSuccess, "timeStamp", now.Add(-2*time.Minute), nil), 204, "Installed on the phone"},
		{"LateDownload", progressBody(iccid, 3, smdp.StatusSuccess, "timestamp", now.Add(-3*time.Minute), nil), 204, "Installed on the phone"},
		{"LateRefusal", progressBody(iccid, 3, smdp.StatusFailed, "timestamp", now.Add(-3*time.Minute), &refused), 204, "Installed on the phone"},
		{"Again", progressBody(iccid, "4", smdp.StatusSuccess, "timeStamp", now.Add(-2*time.Minute), nil), 204, "Installed on the phone"},
		{"Point100", progressBody(iccid, 100, smdp.StatusFailed, "timestamp", now.Add(-time.Minute), &refused), 204, "Installed on the phone"},
		{"NoICCID", progressBody("", 4, smdp.StatusSuccess, "timestamp", now, nil), 400, "Installed on the phone"},
		{"BadStatus", progressBody(iccid, 4, "Done", "timestamp", now, nil), 400, "Installed on the phone"},
		{"Future", progressBody(iccid, 4, smdp.StatusSuccess, "timestamp", now.Add(time.Hour), nil), 400, "Installed on the phone"},
	}
	for _, s := range steps {
		if got := post(s.body); got != s.wantStatus {
			t.Errorf("%s: answered %d, want %d", s.name, got, s.wantStatus)
		}
		install, why := lineStatus(t, p.agent, daniel, iccid)
		if !strings.Contains(install, s.wantInstall) {
			t.Errorf("%s: the line says %q, want %q", s.name, install, s.wantInstall)
		}
		if s.name == "Refused" && !strings.Contains(why, "The phone could not install the eSIM: the customer refused the download") {
			t.Errorf("%s: Why no data? says %q", s.name, why)
		}
	}
	if n := p.Count(t, `SELECT count(*) FROM smdp_notifications WHERE iccid = ?`, iccid); n != 6 {
		t.Errorf("%d notifications recorded, want 6 (the repeat once, the bad ones not)", n)
	}
	m := scrape(t, p.agent)
	for _, want := range []struct {
		name, label, value string
		n                  float64
	}{
		{"esim_es2_notifications_total", "result", "recorded", 6},
		{"esim_es2_notifications_total", "result", "duplicate", 1},
		{"esim_es2_notifications_total", "result", "rejected", 3},
		{"esim_smdp_calls_total", "function", smdp.FuncConfirmOrder, 1},
		{"esim_smdp_orders_waiting", "", "", 0},
	} {
		var got float64
		if want.label == "" {
			got = value(m, want.name)
		} else {
			got = value(m, want.name, want.label, want.value)
		}
		if got != want.n {
			t.Errorf("%s{%s=%q} = %v, want %v", want.name, want.label, want.value, got, want.n)
		}
	}
	timeline := text(p.agent.Page(t, "/esims/"+iccid).Find("#timeline"))
	if !strings.Contains(timeline, "notification point 100") {
		t.Errorf("the timeline does not show point 100: %q", timeline)
	}
}

// A 19-digit ICCID padded to 20 with F, as older SM-DP+s send it.
func TestES2PaddedICCID(t *testing.T) {
	t.Parallel()
	p := startSMDP(t, 0)
	var iccid string
	if err := p.Raw.QueryRow(`SELECT iccid FROM esims WHERE state = 'allocated' AND length(iccid) = 19 LIMIT 1`).Scan(&iccid); err != nil {
		t.Skipf("the demo data has no allocated 19-digit ICCID: %v", err)
	}
	code, err := p.fake.Post(context.Background(), p.ES2URL, progressBody(iccid+"F", 4, smdp.StatusSuccess, "timestamp", p.Store.Now(), nil))
	if err != nil || code != http.StatusNoContent {
		t.Fatalf("answered %d, %v; want 204", code, err)
	}
	if e := p.esim(t, iccid); e.ProfileState != db.ProfileInstalled {
		t.Errorf("eSIM %s is %q, want installed", iccid, e.ProfileState)
	}
}

// Only a client certificate of -es2-client-ca gets through the handshake.
func TestES2ClientCertificate(t *testing.T) {
	t.Parallel()
	p := startSMDP(t, 0)
	other, err := smdptest.NewPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	body := progressBody("8900000000000000001", 4, smdp.StatusSuccess, "timestamp", p.Store.Now(), nil)
	if code, err := smdptest.PostWith(context.Background(), other.SMDPClient, p.fake.PKI.Pool, p.ES2URL, body); err == nil {
		t.Errorf("a client certificate of another CA got an answer, %d", code)
	}
	if code, err := smdptest.PostWith(context.Background(), p.fake.PKI.SMDPClient, p.fake.PKI.Pool, p.ES2URL, body); err != nil || code != http.StatusBadRequest {
		t.Errorf("the SM-DP+'s own certificate: %d, %v; want 400 for an unknown eSIM", code, err)
	}
}
