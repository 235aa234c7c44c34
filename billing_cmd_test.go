package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/dbtest"
)

// importSubscribersFile runs subscribers import on the database at path.
func importSubscribersFile(t *testing.T, path string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"-demo=false", "-db", path, "subscribers", "import"}, args...), env(nil), strings.NewReader(""), &out, &errOut)
	return out.String(), err
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const csvHeader = "account_number,name,email,phone,status,as_of,home_plan_id,home_plan_name,home_plan_kind,home_plan_lines,home_plan_since\n"

func TestSubscribersImportCSV(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "billing.db")
	file := writeFile(t, "subs.csv", csvHeader+
		"AC-1,Ana Silva,ana@example.com,+351 912 345 678,active,2026-12-01T00:00:00Z,HP-1,Unlimited All,unlimited_all,1,2024-01-01T00:00:00Z\n"+
		"AC-1,Ana Silva,ana@example.com,+351 912 345 678,active,2026-12-01T00:00:00Z,HP-2,Unlimited Family,unlimited_bundle,4,\n"+
		"AC-2,Ben Okoro,ben@example.com,,suspended,2026-12-01T00:00:00Z,,,,,\n")
	out, err := importSubscribersFile(t, dbPath, file)
	if err != nil || !strings.Contains(out, "2 created, 0 updated, 0 unchanged") {
		t.Fatalf("first import: %v\n%s", err, out)
	}
	ro := dbtest.ReadOnly(t, dbPath)
	before := dbtest.Count(t, ro, `SELECT count(*) FROM audit_log`)
	out, err = importSubscribersFile(t, dbPath, file)
	if err != nil || !strings.Contains(out, "0 created, 0 updated, 2 unchanged") {
		t.Fatalf("the same file again: %v\n%s", err, out)
	}
	s := dbtest.OpenFile(t, dbPath)
	if after := dbtest.Count(t, ro, `SELECT count(*) FROM audit_log`); after != before {
		t.Errorf("the same file again wrote %d audit entries", after-before)
	}
	sub, err := s.SubscriberByAccount(context.Background(), "AC-1")
	if err != nil {
		t.Fatal(err)
	}
	home, _ := s.DomesticPlans(context.Background(), sub.ID)
	a, _ := s.Allowance(context.Background(), sub.ID)
	if len(home) != 2 || a.Total != 2 || sub.Phone != "+351912345678" {
		t.Errorf("AC-1 = %+v with home plans %+v, allowance %v", sub, home, a)
	}
}

func TestSubscribersImportReportsBadLinesAndWritesNothingOfTheirBatch(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "billing.db")
	var b strings.Builder
	for i := range 1200 {
		email := fmt.Sprintf("s%d@example.com", i)
		if i == 5 {
			email = "not-an-address"
		}
		if i == 2 {
			b.WriteString(`{"account_number": "AC-X", "nmae": "typo"}` + "\n")
			continue
		}
		fmt.Fprintf(&b, `{"account_number": "AC-%d", "name": "Sub %d", "email": %q, "status": "active", "as_of": "2026-12-01T00:00:00Z"}`+"\n", i, i, email)
	}
	out, err := importSubscribersFile(t, dbPath, writeFile(t, "subs.jsonl", b.String()))
	if err == nil {
		t.Fatalf("an import with bad lines succeeded:\n%s", out)
	}
	for _, want := range []string{"line 6: email: email is not an email address", `line 3: unknown field "nmae"`, "200 created", "1000 refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	s := dbtest.OpenFile(t, dbPath)
	if _, err := s.SubscriberByAccount(context.Background(), "AC-0"); db.ErrorCode(err) != db.ErrNotFound {
		t.Errorf("a subscriber of the refused batch was written: %v", err)
	}
	if _, err := s.SubscriberByAccount(context.Background(), "AC-1100"); err != nil {
		t.Errorf("the good batch was not written: %v", err)
	}
}

func TestSubscribersImportFullRefusesAMassClosing(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "billing.db")
	var all, most strings.Builder
	for i := range 100 {
		line := fmt.Sprintf(`{"account_number": "AC-%d", "name": "Sub %d", "email": "s%d@example.com", "status": "active", "as_of": "2026-12-01T00:00:00Z"}`+"\n", i, i, i)
		all.WriteString(line)
		if i >= 5 {
			most.WriteString(line)
		}
	}
	if out, err := importSubscribersFile(t, dbPath, writeFile(t, "all.jsonl", all.String())); err != nil {
		t.Fatalf("first load: %v\n%s", err, out)
	}
	short := writeFile(t, "short.jsonl", most.String())
	out, err := importSubscribersFile(t, dbPath, "--full", short)
	if err == nil || !strings.Contains(err.Error(), "would close 5 of 100 subscribers") || !strings.Contains(err.Error(), "--allow-closing 5") {
		t.Fatalf("a full file missing 5%%: %v\n%s", err, out)
	}
	ro := dbtest.ReadOnly(t, dbPath)
	closed := func() int { return dbtest.Count(t, ro, `SELECT count(*) FROM subscribers WHERE status = 'closed'`) }
	if n := closed(); n != 0 {
		t.Errorf("a refused full import closed %d", n)
	}
	if out, err := importSubscribersFile(t, dbPath, "--full", "--allow-closing", "5", short); err != nil || !strings.Contains(out, "Closed 5 subscribers") {
		t.Fatalf("allowed: %v\n%s", err, out)
	}
	if n := closed(); n != 5 {
		t.Errorf("%d closed, want 5", n)
	}
}

func TestAPIClientsAdd(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "c.db")
	var out, errOut bytes.Buffer
	args := []string{"-demo=false", "-db", dbPath, "api-clients", "add", "--name", "Billing", "--scope", "subscribers,catalog"}
	if err := run(context.Background(), args, env(nil), strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("api-clients add: %v %s", err, errOut.String())
	}
	key := strings.TrimSpace(out.String())
	s := dbtest.OpenFile(t, dbPath)
	c, err := s.APIClientByKey(context.Background(), key)
	if err != nil || c.Name != "Billing" || !c.Can(db.ScopeCatalog) || !c.Can(db.ScopeSubscribers) || c.Can(db.ScopeNetwork) {
		t.Errorf("the client of the printed key: %+v, %v", c, err)
	}
	args[len(args)-1] = "billing"
	if err := run(context.Background(), args, env(nil), strings.NewReader(""), &out, &errOut); err == nil || !strings.Contains(err.Error(), "not a scope") {
		t.Errorf("an unknown scope: %v", err)
	}
}
