package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// testMail renders plain stand-ins: the real emails are tested in emails/.
type testMail struct{}

func (t testMail) QRCode(m QRMail) (Message, error) {
	return Message{Subject: t.QRSubject(m), Text: m.ActivationCode(), HTML: "<p>" + m.ActivationCode() + "</p>"}, nil
}

func (testMail) PlanNotice(m PlanMail) (Message, error) {
	return Message{Subject: m.Kind + " " + m.Plan.OrderNumber, Text: m.Plan.Plan.Name, HTML: "<p>" + m.Kind + "</p>"}, nil
}

func (testMail) LowStock(m LowStockMail) (Message, error) {
	return Message{Subject: fmt.Sprintf("Low stock: profile %d", m.Forecast.IMSIProfile), Text: m.Lead.Name, HTML: "<p>low stock</p>"}, nil
}

func (t testMail) OrderConfirmation(m OrderMail) (Message, error) {
	return Message{Subject: t.OrderSubject(m), Text: m.Plan.Name + " for " + m.Plan.Price(), HTML: "<p>" + m.Plan.Name + "</p>"}, nil
}

func (testMail) QRSubject(m QRMail) string { return "QR for " + m.LineName }

func (testMail) OrderSubject(m OrderMail) string { return "Order " + m.OrderNumber }

type fixture struct {
	s     *Store
	path  string
	agent Login
	plans map[string]Plan // by code
	subs  []int64         // subscribers, each with one Unlimited All plan
}

// newFixture makes a store with three plans (Euro 1 on profile 7, Asia 1 on
// profile 10, and a retired Euro 5), `subscribers` eligible subscribers and
// `free` free eSIMs of each profile.
func newFixture(t testing.TB, subscribers, free int) *fixture {
	t.Helper()
	ctx := context.Background()
	path := t.TempDir() + "/lines.db"
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.Mail = testMail{}
	s.PasswordCost = bcrypt.MinCost
	f := &fixture{s: s, path: path, plans: map[string]Plan{}}
	f.agent, err = s.CreateLogin(ctx, "agent@example.com", "Agent", RoleAgent, "agent-password")
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.write.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, p := range []struct {
		code, name, region string
		profile, active    int
		dest               []string
	}{
		{"EURO1", "Euro 1", "Europe", 7, 1, []string{"FR", "DE", "ES"}},
		{"ASIA1", "Asia 1", "Asia", 10, 1, []string{"JP", "TH"}},
		{"EURO5", "Euro 5", "Europe", 7, 0, []string{"FR"}},
	} {
		exec(`INSERT INTO plans (id, code, name, region, data_mb, imsi_profile, price_cents, active) VALUES (?, ?, ?, ?, 3000, ?, 1900, ?)`,
			i+1, p.code, p.name, p.region, p.profile, p.active)
		for _, c := range p.dest {
			exec(`INSERT INTO plan_destinations (plan_id, country) VALUES (?, ?)`, i+1, c)
		}
		f.plans[p.code], err = s.Plan(ctx, int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
	}
	now := formatTime(s.Now())
	for i := range subscribers {
		id := int64(i + 1)
		exec(`INSERT INTO subscribers (id, account_number, name, email, phone, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, fmt.Sprintf("AC-%06d", id), fmt.Sprintf("Subscriber %d", id), fmt.Sprintf("sub%d@example.com", id), "+1 555 0100", now)
		exec(`INSERT INTO domestic_plans (subscriber_id, name, kind, since) VALUES (?, 'Unlimited All', 'unlimited_all', ?)`, id, now)
		f.subs = append(f.subs, id)
	}
	n := 0
	for _, profile := range IMSIProfiles {
		for i := range free {
			n++
			exec(`INSERT INTO esims (iccid, imsi_profile, smdp_address, matching_id, stocked_at) VALUES (?, ?, 'smdp.example.com', ?, ?)`,
				testICCID(n), profile, fmt.Sprintf("MATCH-%d", n), formatTime(s.Now().Add(time.Duration(i)*time.Minute)))
		}
	}
	// The eSIMs went in behind the store's back: count them as a load does.
	if err := recountStock(ctx, s.write); err != nil {
		t.Fatal(err)
	}
	return f
}

func testICCID(n int) string {
	body := fmt.Sprintf("8901990%011d", n)
	return body + string(LuhnDigit(body))
}

func (f *fixture) addLine(sub int64, name, plan string) (Order, error) {
	return f.s.AddLine(context.Background(), AddLine{SubscriberID: sub, LineName: name, PlanID: f.plans[plan].ID, By: f.agent})
}

// state is what must not change when an Add line is refused.
func (f *fixture) state(t *testing.T) string {
	return fmt.Sprintf("allocated=%d plans=%d outbox=%d audit=%d",
		count(t, f.s, `SELECT count(*) FROM esims WHERE state = 'allocated'`),
		count(t, f.s, `SELECT count(*) FROM esim_plans`),
		count(t, f.s, `SELECT count(*) FROM outbox`),
		count(t, f.s, `SELECT count(*) FROM audit_log`))
}

func TestAddLine(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		f := newFixture(t, 1, 3)
		order, err := f.addLine(f.subs[0], "  France ", "EURO1")
		if err != nil {
			t.Fatal(err)
		}
		e, err := f.s.ESIM(ctx, order.ICCID)
		if err != nil {
			t.Fatal(err)
		}
		if e.State != StateAllocated || e.SubscriberID != f.subs[0] || e.LineName != "France" || e.IMSIProfile != 7 {
			t.Errorf("eSIM = %+v, want allocated to subscriber as France on profile 7", e)
		}
		// The free eSIM that waited longest goes first.
		if want := testICCID(3 + 1); e.ICCID != want {
			t.Errorf("allocated %s, want the oldest free profile 7 eSIM %s", e.ICCID, want)
		}
		if len(e.Plans) != 1 || e.Plans[0].State != PlanQueued || e.Plans[0].Plan.Code != "EURO1" || e.Plans[0].OrderNumber != order.OrderNumber {
			t.Errorf("plans = %+v, want one pending Euro 1", e.Plans)
		}
		emails, err := f.s.EmailsForESIM(ctx, e.ICCID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, m := range emails {
			kinds = append(kinds, m.Kind)
			if m.To != "sub1@example.com" || m.State != EmailQueued || m.MessageID == "" {
				t.Errorf("email %+v: want queued to sub1@example.com with a Message-ID", m)
			}
		}
		if got := strings.Join(kinds, ","); got != "confirmation,qr" {
			t.Errorf("emails = %s, want confirmation,qr", got)
		}
		if emails[1].ActivationCode != "LPA:1$smdp.example.com$"+e.MatchingID {
			t.Errorf("QR email activation code = %q", emails[1].ActivationCode)
		}
		if n := count(t, f.s, `SELECT count(*) FROM audit_log WHERE action = 'add_line' AND iccid = ? AND login_id = ?`, e.ICCID, f.agent.ID); n != 1 {
			t.Errorf("audit entries = %d, want 1", n)
		}
	})

	refusals := []struct {
		name        string
		setup       func(f *fixture)
		sub         int64
		line, plan  string
		code        Code
		field, text string
	}{
		{name: "EmptyName", line: "   ", plan: "EURO1", code: ErrInvalid, field: "line_name", text: "Enter a line name"},
		{name: "LongName", line: strings.Repeat("x", 41), plan: "EURO1", code: ErrInvalid, field: "line_name", text: "at most 40"},
		{name: "DuplicateName", setup: func(f *fixture) { f.addLine(f.subs[0], "France", "EURO1") },
			line: "FRANCE", plan: "ASIA1", code: ErrInvalid, field: "line_name", text: "already has a line named"},
		{name: "UnknownPlan", line: "Japan", plan: "NOPE", code: ErrInvalid, field: "plan", text: "Choose a plan"},
		{name: "InactivePlan", line: "France", plan: "EURO5", code: ErrInvalid, field: "plan", text: "no longer sold"},
		{name: "AllowanceUsedUp", setup: func(f *fixture) { f.addLine(f.subs[0], "France", "EURO1") },
			line: "Japan", plan: "ASIA1", code: ErrNotEligible, text: "holds 1 of 1 complimentary eSIMs"},
		{name: "NoQualifyingPlan", setup: func(f *fixture) {
			f.s.write.Exec(`DELETE FROM domestic_plans WHERE subscriber_id = ?`, f.subs[0])
		}, line: "Japan", plan: "ASIA1", code: ErrNotEligible, text: "no Unlimited All plan"},
		{name: "OutOfStock", setup: func(f *fixture) {
			f.s.write.Exec(`UPDATE esims SET state = 'retired' WHERE imsi_profile = 10`)
		}, line: "Japan", plan: "ASIA1", code: ErrOutOfStock, field: "plan", text: "No free profile 10 eSIMs left — ask a team lead to restock"},
		{name: "UnknownSubscriber", sub: 999, line: "Japan", plan: "ASIA1", code: ErrNotFound},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1, 3)
			if tc.setup != nil {
				tc.setup(f)
			}
			before := f.state(t)
			sub := f.subs[0]
			if tc.sub != 0 {
				sub = tc.sub
			}
			_, err := f.addLine(sub, tc.line, tc.plan)
			var e *Error
			if !errorsAs(err, &e) || e.Code != tc.code || e.Field != tc.field || !strings.Contains(e.Message, tc.text) {
				t.Fatalf("err = %#v, want %s on %q saying %q", err, tc.code, tc.field, tc.text)
			}
			if after := f.state(t); after != before {
				t.Errorf("state changed by a refused Add line: %s → %s", before, after)
			}
		})
	}

	t.Run("EveryFieldAtOnce", func(t *testing.T) {
		f := newFixture(t, 1, 3)
		f.addLine(f.subs[0], "France", "EURO1")
		for _, tc := range []struct{ line, plan, name, planMsg string }{
			{"", "", "Enter a line name", "Choose a plan."},
			{strings.Repeat("x", 41), "EURO5", "at most 40", "no longer sold"},
			{"FRANCE", "EURO5", "already has a line named", "no longer sold"},
		} {
			before := f.state(t)
			_, err := f.addLine(f.subs[0], tc.line, tc.plan)
			// Her one complimentary eSIM is used: that is said too.
			got := Refusals(err).ByField()
			if len(got) != 3 || !strings.Contains(got["line_name"], tc.name) || !strings.Contains(got["plan"], tc.planMsg) || !strings.Contains(got[""], "Allowance used up") {
				t.Errorf("line %q, plan %q: refusals %q, want the line name's %q, the plan's %q and the used-up allowance", tc.line, tc.plan, got, tc.name, tc.planMsg)
			}
			if after := f.state(t); after != before {
				t.Errorf("state changed by a refused Add line: %s → %s", before, after)
			}
		}
	})

	t.Run("RepeatedTokenReturnsFirstResult", func(t *testing.T) {
		f := newFixture(t, 1, 3)
		f.s.Mail = testMail{}
		req := AddLine{SubscriberID: f.subs[0], LineName: "France", PlanID: f.plans["EURO1"].ID, Token: "tok-1", By: f.agent}
		first, err := f.s.AddLine(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		before := f.state(t)
		again, err := f.s.AddLine(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if again.ICCID != first.ICCID || again.OrderNumber != first.OrderNumber || !again.Replayed {
			t.Errorf("repeat = %+v, want the first result %+v, replayed", again, first)
		}
		if after := f.state(t); after != before {
			t.Errorf("a repeated submit changed the store: %s → %s", before, after)
		}
	})
}

func TestAddLineConcurrent(t *testing.T) {
	// 40 eligible subscribers race for 7 free profile 7 eSIMs.
	f := newFixture(t, 40, 7)
	var wg sync.WaitGroup
	results := make([]error, 40)
	orders := make([]Order, 40)
	for i, sub := range f.subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			orders[i], results[i] = f.addLine(sub, "Europe", "EURO1")
		}()
	}
	wg.Wait()
	ok, out := 0, 0
	seen := map[string]bool{}
	for i, err := range results {
		switch {
		case err == nil:
			ok++
			if seen[orders[i].ICCID] {
				t.Errorf("ICCID %s allocated twice", orders[i].ICCID)
			}
			seen[orders[i].ICCID] = true
		case ErrorCode(err) == ErrOutOfStock:
			out++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 7 || out != 33 {
		t.Errorf("%d succeeded and %d out of stock, want 7 and 33", ok, out)
	}
	if n := count(t, f.s, `SELECT count(*) FROM outbox`); n != 14 {
		t.Errorf("outbox holds %d emails, want 14", n)
	}
	if n := count(t, f.s, `SELECT count(DISTINCT iccid) FROM esims WHERE state = 'allocated' AND imsi_profile = 7`); n != 7 {
		t.Errorf("%d distinct profile 7 eSIMs allocated, want 7", n)
	}
}

func TestCleanLineName(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"Trimmed", "  France ", "France"},
		{"SpacesOne", "South\u00a0 East\u3000Asia", "South East Asia"},
		{"NFC", "E\u0301cosse", "\u00c9cosse"},
		{"Accents", "Côte d’Ivoire", "Côte d’Ivoire"},
		{"Flag", "🇫🇷 France", "🇫🇷 France"},
		{"ZeroWidthSpace", "Fr\u200bance", ""},
		{"ZeroWidthJoiner", "Fr\u200dance", ""},
		{"WordJoiner", "Fr\u2060ance", ""},
		{"ByteOrderMark", "\ufeffFrance", ""},
		{"SoftHyphen", "Fr\u00adance", ""},
		{"BidiOverride", "\u202eecnarF", ""},
		{"BidiIsolate", "\u2067France\u2069", ""},
		{"LeftToRightMark", "France\u200e", ""},
		{"LineSeparator", "France\u2028Spain", ""},
		{"ParagraphSeparator", "France\u2029", ""},
		{"Newline", "France\nSpain", ""},
		{"Tab", "France\tSpain", ""},
		{"NUL", "Fr\x00ance", ""},
		{"PrivateUse", "Fr\ue000ance", ""},
		{"InvalidUTF8", "Fr\xffance", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CleanLineName(tc.in)
			if tc.want == "" {
				if e, ok := err.(*Error); !ok || e.Field != "line_name" || !strings.Contains(e.Message, "printable") {
					t.Errorf("CleanLineName(%q) = %q, %v; want it refused as not printable", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("CleanLineName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestLineNamesLookAlike gives a subscriber a line and then another whose
// name looks the same: refused, whatever the case, spacing or normal form,
// and also against a name kept before invisible characters were refused.
func TestLineNamesLookAlike(t *testing.T) {
	f := newFixture(t, 1, 5)
	sub := f.subs[0]
	for range 4 {
		if _, err := f.s.write.Exec(`INSERT INTO domestic_plans (subscriber_id, name, kind, since) VALUES (?, 'Unlimited All', 'unlimited_all', ?)`,
			sub, formatTime(f.s.Now())); err != nil {
			t.Fatal(err)
		}
	}
	for _, held := range []string{"France", "Écosse"} {
		if _, err := f.addLine(sub, held, "EURO1"); err != nil {
			t.Fatal(err)
		}
	}
	// A name an earlier version of the portal let in.
	if _, err := f.s.write.Exec(`UPDATE esims SET line_name = 'Sp' || char(8203) || 'ain' WHERE line_name = 'Écosse'`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.addLine(sub, "Écosse", "EURO1"); err != nil {
		t.Fatalf("Écosse, once the old line was renamed: %v", err)
	}
	for _, name := range []string{"france", "FRANCE", " France  ", "E\u0301COSSE", "écosse", "Spain", "SPAIN"} {
		_, err := f.addLine(sub, name, "EURO1")
		if e := Refusals(err); len(e) != 1 || e[0].Field != "line_name" || !strings.Contains(e[0].Message, "already has a line named") {
			t.Errorf("Add line %q next to France, Écosse and Sp\\u200bain: %v, want it refused as a name already held", name, err)
		}
	}
}

// TestAddLineReadsTheSubscribersLinesOnly checks that the allowance and the
// line names an Add line checks are read from the subscriber's own eSIMs,
// not by walking every allocated one (a million in a carrier's inventory).
func TestAddLineReadsTheSubscribersLinesOnly(t *testing.T) {
	s := openTestStore(t)
	for name, query := range map[string]string{"held lines": heldLinesQuery, "allowance": allowanceQuery} {
		rows, err := s.read.Query(`EXPLAIN QUERY PLAN `+query, 1, "8900000000000000000")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(detail, "esims") {
				plan = append(plan, detail)
			}
		}
		rows.Close()
		if len(plan) != 1 || !strings.Contains(plan[0], "esims_line_name (subscriber_id=?)") {
			t.Errorf("%s reads the eSIMs by %q, want the subscriber's lines in esims_line_name", name, plan)
		}
	}
}

// TestAddLineDraftsItsEmails checks that Add line's change writes its two
// emails as drafts, with their subjects, and no text or HTML rendered by
// the single writer; that they read whole as the renderer makes them; and
// that once sent they keep the text and HTML they were sent with.
func TestAddLineDraftsItsEmails(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 1)
	order, err := f.addLine(f.subs[0], "France", "EURO1")
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.s.ESIM(ctx, order.ICCID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Message{}
	want[EmailQR], _ = testMail{}.QRCode(QRMail{Subscriber: Subscriber{Name: "Subscriber 1"}, LineName: "France", ICCID: e.ICCID,
		SMDPAddress: e.SMDPAddress, MatchingID: e.MatchingID})
	want[EmailConfirmation], _ = testMail{}.OrderConfirmation(OrderMail{OrderNumber: order.OrderNumber, Plan: f.plans["EURO1"]})
	listed, err := f.s.EmailsForESIM(ctx, order.ICCID)
	if err != nil || len(listed) != 2 {
		t.Fatalf("emails = %+v, %v; want two", listed, err)
	}
	for _, m := range listed {
		var subject, text, html string
		var draft sql.NullString
		if err := f.s.read.QueryRow(`SELECT subject, text_body, html_body, draft FROM outbox WHERE id = ?`, m.ID).Scan(&subject, &text, &html, &draft); err != nil {
			t.Fatal(err)
		}
		if subject != want[m.Kind].Subject || text != "" || html != "" || !draft.Valid {
			t.Errorf("%s email queued with subject %q, text %q, HTML %q, draft %v; want the subject %q and a draft only",
				m.Kind, subject, text, html, draft.Valid, want[m.Kind].Subject)
		}
		if m.Message.Subject != want[m.Kind].Subject {
			t.Errorf("%s email listed with subject %q, want %q", m.Kind, m.Message.Subject, want[m.Kind].Subject)
		}
		whole, err := f.s.EmailByID(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if whole.Message != want[m.Kind] {
			t.Errorf("%s email reads %+v, want %+v", m.Kind, whole.Message, want[m.Kind])
		}
	}
	due, err := f.s.DueEmails(ctx, f.s.Now(), 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range due {
		if m.Message != want[m.Kind] {
			t.Errorf("%s email due as %+v, want %+v", m.Kind, m.Message, want[m.Kind])
		}
		if err := f.s.MarkEmailSent(ctx, m, f.s.Now()); err != nil {
			t.Fatal(err)
		}
		var text, html string
		var draft sql.NullString
		if err := f.s.read.QueryRow(`SELECT text_body, html_body, draft FROM outbox WHERE id = ?`, m.ID).Scan(&text, &html, &draft); err != nil {
			t.Fatal(err)
		}
		if text != want[m.Kind].Text || html != want[m.Kind].HTML || draft.Valid {
			t.Errorf("%s email sent keeps text %q, HTML %q, draft %v; want what was sent and no draft", m.Kind, text, html, draft.Valid)
		}
	}
	if len(due) != 2 {
		t.Errorf("%d emails due, want 2", len(due))
	}
}

// brokenQR is a renderer that cannot write the QR email of a line named
// "Broken", as a template with a defect would fail.
type brokenQR struct{ testMail }

func (b brokenQR) QRCode(m QRMail) (Message, error) {
	if m.LineName == "Broken" {
		return Message{}, errors.New("template: qr: no such field")
	}
	return b.testMail.QRCode(m)
}

// TestDueEmailsWithADraftThatCannotBeWritten checks that a draft the
// renderer fails on is read with its reason, and the other due emails whole:
// one defect in a template must not stop the rest of the mail.
func TestDueEmailsWithADraftThatCannotBeWritten(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 2, 2)
	f.s.Mail = brokenQR{}
	for i, name := range []string{"Broken", "France"} {
		if _, err := f.addLine(f.subs[i], name, "EURO1"); err != nil {
			t.Fatal(err)
		}
	}
	due, err := f.s.DueEmails(ctx, f.s.Now(), 10)
	if err != nil {
		t.Fatalf("due emails: %v; want the emails that can be written, and the one that cannot with its reason", err)
	}
	unwritten := 0
	for _, e := range due {
		switch {
		case e.Unwritten != nil:
			unwritten++
			if e.Kind != EmailQR || !strings.Contains(e.Unwritten.Error(), "no such field") {
				t.Errorf("%s email #%d unwritten: %v; want only Broken's QR email, with the template's reason", e.Kind, e.ID, e.Unwritten)
			}
		case e.Message.Text == "" || e.Message.HTML == "":
			t.Errorf("%s email #%d due with no text or HTML", e.Kind, e.ID)
		}
	}
	if len(due) != 4 || unwritten != 1 {
		t.Errorf("%d emails due, %d unwritten; want 4, 1", len(due), unwritten)
	}
}
