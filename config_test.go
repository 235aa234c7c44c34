package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/dbtest"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseConfig(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		cfg, _, err := parseConfig("x", nil, env(nil), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != "127.0.0.1:8080" || cfg.DB != "esim-admin.db" || !cfg.Demo || cfg.LowStock != 20 || cfg.SMTPAddr != "" ||
			cfg.UsageWarn != 80 || cfg.ExpiryWarn != 72*time.Hour || cfg.ReorderDays != 14 || cfg.Retention != db.DefaultRetention {
			t.Errorf("defaults = %+v", cfg)
		}
	})
	t.Run("SMDP", func(t *testing.T) {
		cfg, _, err := parseConfig("x", []string{"-smdp-ca", "ca.pem"}, env(map[string]string{
			"ESIM_SMDP_URL": "https://smdp.example.com", "ESIM_SMDP_REQUESTER_ID": "carrier", "ESIM_SMDP_CERT": "c.pem", "ESIM_SMDP_KEY": "k.pem",
			"ESIM_ES2_ADDR": "0.0.0.0:8443", "ESIM_ES2_CERT": "s.pem", "ESIM_ES2_KEY": "sk.pem", "ESIM_ES2_CLIENT_CA": "smdp-ca.pem",
		}), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.SMDPURL != "https://smdp.example.com" || cfg.SMDPRequesterID != "carrier" || cfg.SMDPCert != "c.pem" || cfg.SMDPKey != "k.pem" ||
			cfg.SMDPCA != "ca.pem" || cfg.ES2Addr != "0.0.0.0:8443" || cfg.ES2Cert != "s.pem" || cfg.ES2Key != "sk.pem" || cfg.ES2ClientCA != "smdp-ca.pem" {
			t.Errorf("config = %+v", cfg)
		}
	})
	t.Run("EnvironmentThenFlags", func(t *testing.T) {
		cfg, _, err := parseConfig("x", []string{"-addr", "127.0.0.1:9000"}, env(map[string]string{
			"ESIM_ADDR": "127.0.0.1:7000", "ESIM_DB": "/tmp/x.db", "ESIM_DEMO": "false", "ESIM_SMTP_PASSWORD": "pw", "ESIM_LOW_STOCK": "5",
			"ESIM_USAGE_WARN": "75", "ESIM_EXPIRY_WARN": "48h", "ESIM_REORDER_DAYS": "21",
			"ESIM_KEEP_USAGE_DAYS": "120", "ESIM_KEEP_EMAIL_DAYS": "730",
		}), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != "127.0.0.1:9000" || cfg.DB != "/tmp/x.db" || cfg.Demo || cfg.SMTPPassword != "pw" || cfg.LowStock != 5 || cfg.ReorderDays != 21 ||
			cfg.notices() != (db.NoticeSettings{LowPercent: 75, EndsSoon: 48 * time.Hour}) ||
			cfg.Retention != (db.RetentionSettings{UsageDays: 120, EmailDays: 730}) {
			t.Errorf("config = %+v", cfg)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"UnknownFlag", []string{"-nope"}, nil, "flag provided but not defined: -nope"},
		{"BadDemo", nil, map[string]string{"ESIM_DEMO": "maybe"}, "ESIM_DEMO must be true or false"},
		{"BadAddr", []string{"-addr", "8080"}, nil, "-addr must be host:port"},
		{"BadBaseURL", []string{"-base-url", "ftp://x"}, nil, "-base-url must be an http or https URL"},
		{"ShortSessionKey", nil, map[string]string{"ESIM_SESSION_KEY": "short"}, "at least 32 characters"},
		{"BadLowStock", nil, map[string]string{"ESIM_LOW_STOCK": "lots"}, "ESIM_LOW_STOCK must be a whole number"},
		{"BadReorderDays", nil, map[string]string{"ESIM_REORDER_DAYS": "two weeks"}, "ESIM_REORDER_DAYS must be a whole number of days"},
		{"ReorderDaysZero", []string{"-reorder-days", "0"}, nil, "-reorder-days must be from 1 to 365 days"},
		{"BadUsageWarn", nil, map[string]string{"ESIM_USAGE_WARN": "most"}, "ESIM_USAGE_WARN must be a whole number of percent"},
		{"UsageWarnOver", []string{"-usage-warn", "100"}, nil, "-usage-warn must be a percent from 1 to 99"},
		{"BadExpiryWarn", nil, map[string]string{"ESIM_EXPIRY_WARN": "3 days"}, "ESIM_EXPIRY_WARN must be a duration"},
		{"ExpiryWarnTooLong", []string{"-expiry-warn", "800h"}, nil, "-expiry-warn must be from 1h"},
		{"BadTrustedProxies", []string{"-trusted-proxies", "10.0.0.1, proxy.internal"}, nil, "-trusted-proxies must list IP addresses or CIDR ranges"},
		{"SMDPURLNotHTTPS", []string{"-smdp-url", "http://smdp.example.com"}, nil, "-smdp-url must be an https URL"},
		{"SMDPWithoutRequester", nil, map[string]string{"ESIM_SMDP_URL": "https://smdp.example.com", "ESIM_SMDP_CERT": "c.pem", "ESIM_SMDP_KEY": "k.pem"},
			"-smdp-requester-id is required"},
		{"SMDPWithoutCert", []string{"-smdp-url", "https://smdp.example.com", "-smdp-requester-id", "carrier"}, nil, "-smdp-cert and -smdp-key are required"},
		{"SMDPCertWithoutURL", []string{"-smdp-cert", "c.pem"}, nil, "need -smdp-url"},
		{"ES2WithoutClientCA", []string{"-es2-addr", "0.0.0.0:8443", "-es2-cert", "c.pem", "-es2-key", "k.pem"}, nil, "-es2-client-ca are required"},
		{"ES2BadAddr", []string{"-es2-addr", "8443"}, nil, "-es2-addr must be host:port"},
		{"ShortMetricsToken", nil, map[string]string{"ESIM_METRICS_TOKEN": "short"}, "ESIM_METRICS_TOKEN must be at least 32"},
		{"BadBackupEvery", nil, map[string]string{"ESIM_BACKUP_EVERY": "daily"}, "ESIM_BACKUP_EVERY must be a duration"},
		{"BackupEveryTooShort", []string{"-backup-every", "1s"}, nil, "-backup-every must be a minute or more"},
		{"BackupKeepNone", []string{"-backup-keep", "0"}, nil, "-backup-keep must keep at least 1"},
		{"BadKeepUsageDays", nil, map[string]string{"ESIM_KEEP_USAGE_DAYS": "3 months"}, "ESIM_KEEP_USAGE_DAYS must be a whole number of days"},
		{"KeepUsageShorterThanAPlan", []string{"-keep-usage-days", "30"}, nil, "-keep-usage-days must be from 31 to 3650 days"},
		{"KeepEmailDaysTooShort", []string{"-keep-email-days", "7"}, nil, "-keep-email-days must be from 30 to 3650 days"},
		{"BadPasswordLogin", nil, map[string]string{"ESIM_PASSWORD_LOGIN": "sometimes"}, "ESIM_PASSWORD_LOGIN must be true or false"},
		{"PasswordLoginOffWithoutSSO", []string{"-password-login=false"}, nil, "-password-login=false needs single sign-on"},
		{"PlainHTTPIssuer", append(sso, "-oidc-issuer", "http://idp.example.com"), ssoEnv, "-oidc-issuer must be an https URL"},
		{"NoClientSecret", sso, map[string]string{"ESIM_OIDC_CLIENT_ID": "portal"}, "needs ESIM_OIDC_CLIENT_ID and ESIM_OIDC_CLIENT_SECRET"},
		{"NoBaseURL", []string{"-oidc-issuer", "https://idp.example.com", "-oidc-agent-groups", "a"}, ssoEnv, "-oidc-issuer needs -base-url"},
		{"NoGroups", []string{"-oidc-issuer", "https://idp.example.com", "-base-url", "https://ap.example.com", "-oidc-lead-groups", " , "}, ssoEnv,
			"-oidc-issuer needs -oidc-lead-groups or -oidc-agent-groups"},
		{"NoGroupsClaim", append(sso, "-oidc-groups-claim", " "), ssoEnv, "-oidc-groups-claim must name a claim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			_, _, err := parseConfig("x", tc.args, env(tc.env), &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line saying %q", err, tc.want)
			}
			if stderr.Len() != 0 {
				t.Errorf("a mistake printed more than its message: %q", stderr.String())
			}
		})
	}
}

var (
	sso    = []string{"-oidc-issuer", "https://idp.example.com/realms/carrier", "-base-url", "https://ap.example.com/", "-oidc-agent-groups", "ap-agents, ap-night"}
	ssoEnv = map[string]string{"ESIM_OIDC_CLIENT_ID": "portal", "ESIM_OIDC_CLIENT_SECRET": "s3cret"}
)

func TestSingleSignOnConfig(t *testing.T) {
	cfg, _, err := parseConfig("x", append(sso, "-password-login=false", "-oidc-name", "Sign in with Okta"), env(ssoEnv), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PasswordLogin || cfg.OIDCClientSecret != "s3cret" || cfg.OIDCGroupsClaim != "groups" || cfg.OIDCName != "Sign in with Okta" {
		t.Errorf("config = %+v", cfg)
	}
	p, err := cfg.signIn()
	if err != nil || p == nil {
		t.Fatalf("signIn = %v, %v", p, err)
	}
	if lead, agent := p.Groups(); len(lead) != 0 || strings.Join(agent, "|") != "ap-agents|ap-night" {
		t.Errorf("groups = %q, %q", lead, agent)
	}
	if cfg, _, _ := parseConfig("x", nil, env(nil), &bytes.Buffer{}); !cfg.PasswordLogin {
		t.Error("password sign-in is off by default")
	}
	if p, err := (config{}).signIn(); p != nil || err != nil {
		t.Errorf("without an issuer: %v, %v", p, err)
	}
}

func TestTrustedProxies(t *testing.T) {
	cfg, _, err := parseConfig("x", nil, env(map[string]string{"ESIM_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,2001:db8::1"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := cfg.trustedProxies()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range proxies {
		got = append(got, p.String())
	}
	if want := "10.0.0.0/8 192.0.2.7/32 2001:db8::1/128"; strings.Join(got, " ") != want {
		t.Errorf("trusted proxies = %v, want %s", got, want)
	}
}

// TestUnknownCommand: a mistyped command names every command there is, and
// nothing is made of it.
func TestUnknownCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.db")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-demo=false", "-db", path, "user", "add"}, env(nil), strings.NewReader(""), &out, &errOut)
	want := `unknown command "user add"; commands: users add, api-clients add, subscribers import, plans import, inventory import, demo scale, demo year, backup, restore, smdp-fake`
	if err == nil || err.Error() != want {
		t.Errorf("a mistyped command: %v\nwant %s", err, want)
	}
	if n := dbtest.Count(t, dbtest.ReadOnly(t, path), `SELECT count(*) FROM logins`); n != 0 {
		t.Errorf("a mistyped command made %d logins", n)
	}
}

func TestUsersAdd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.db")
	var out, errOut bytes.Buffer
	args := []string{"-demo=false", "-db", path, "users", "add", "--email", "ana@carrier.example", "--name", "Ana Silva", "--role", "lead"}
	if err := run(context.Background(), args, env(nil), strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatalf("users add: %v", err)
	}
	store := dbtest.OpenFile(t, path)
	l, err := store.Authenticate(context.Background(), "ana@carrier.example", "correct horse battery")
	if err != nil || l.Role != db.RoleLead || l.Name != "Ana Silva" {
		t.Errorf("the new login = %+v, %v", l, err)
	}
	args[6] = "bo@carrier.example"
	if err := run(context.Background(), args, env(nil), strings.NewReader("short\n"), &out, &errOut); err == nil || !strings.Contains(err.Error(), "at least 8 characters") {
		t.Errorf("a short password: %v, want a refusal", err)
	}
}

func TestPlansImport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	file := filepath.Join(t.TempDir(), "plans.csv")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(strings.Join(db.PlansHeader, ",")+"\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	importPlans := func() (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"-demo=false", "-db", path, "plans", "import", file}, env(nil), strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	write("ICE5,Iceland 5 GB,Europe,5000,1900,USD,7,IS,true\n" +
		"ICE5,Iceland twice,Europe,5000,1900,USD,7,IS,true\n" +
		"JP,Japan,Asia,3000,1600,JPY,10,JP,true\n")
	_, errOut, err := importPlans()
	if err == nil || !strings.Contains(err.Error(), "nothing was added: 2 lines") {
		t.Errorf("a file with bad lines: %v, want it refused", err)
	}
	for _, want := range []string{"line 3: code ICE5 is also on line 2", "line 4: currency: Choose the currency"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, errOut)
		}
	}
	write("ICE5,Iceland 5 GB,Europe,5000,1900,USD,7,IS,true\nJP3,Japan,Asia,3000,1600,USD,10,JP,false\n")
	out, _, err := importPlans()
	if err != nil || strings.TrimSpace(out) != "Added 2 plans to the catalog, 1 of them on sale." {
		t.Errorf("import: %q, %v", out, err)
	}
	store := dbtest.OpenFile(t, path)
	if plans, err := store.Plans(context.Background(), true); err != nil || len(plans) != 2 {
		t.Errorf("catalog = %+v, %v; want the 2 plans of the file", plans, err)
	}
	page, err := store.AuditLog(context.Background(), db.AuditFilter{}, 0, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Entries {
		if e.Action != "catalog_add" || !strings.HasSuffix(e.Detail, db.ImportNote) {
			t.Errorf("audit entry %s %q; want each plan added by the import", e.Action, e.Detail)
		}
	}
}
