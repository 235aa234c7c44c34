package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/signin"
)

// config is the portal's configuration: every flag has an environment
// variable, and a flag given on the command line wins over it.
type config struct {
	Addr         string
	DB           string
	SMTPAddr     string
	SMTPUser     string
	SMTPPassword string // environment only: flags show up in process lists
	MailFrom     string
	BaseURL      string
	Proxies      string // -trusted-proxies: IPs or CIDR ranges, comma-separated
	Demo         bool
	LowStock     int
	ReorderDays  int           // days a delivery of eSIMs takes: the stock forecast's lead time
	UsageWarn    int           // percent of a plan's data at which the customer hears it runs low
	ExpiryWarn   time.Duration // how long before a plan's end the customer hears it ends soon
	SessionKey   string        // environment only
	APIToken     string        // environment only: the network API's bearer token
	MetricsToken string        // environment only: the bearer token of /metrics
	BackupDir    string
	BackupEvery  time.Duration
	BackupKeep   int
	Retention    db.RetentionSettings // how long usage records and email texts are kept whole
	// The SM-DP+ (GSMA ES2+): the portal calls it at SMDPURL with its
	// client certificate, and it calls the portal's ES2Addr with one of
	// ES2ClientCA's.
	SMDPURL         string
	SMDPRequesterID string
	SMDPCert        string
	SMDPKey         string
	SMDPCA          string
	ES2Addr         string
	ES2Cert         string
	ES2Key          string
	ES2ClientCA     string
	// Single sign-on through the carrier's identity provider (OpenID Connect).
	OIDCIssuer       string
	OIDCClientID     string // environment only
	OIDCClientSecret string // environment only: flags show up in process lists
	OIDCGroupsClaim  string
	OIDCLeadGroups   string // comma-separated
	OIDCAgentGroups  string // comma-separated
	OIDCName         string
	PasswordLogin    bool // off: only break-glass logins sign in with a password
}

func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (config, []string, error) {
	var cfg config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// A mistake gets its one-line message from the caller; -h gets the list.
	fs.SetOutput(io.Discard)
	str := func(p *string, flagName, env, def, usage string) {
		if v := getenv(env); v != "" {
			def = v
		}
		fs.StringVar(p, flagName, def, usage+" ("+env+")")
	}
	str(&cfg.Addr, "addr", "ESIM_ADDR", "127.0.0.1:8080", "address to listen on")
	str(&cfg.DB, "db", "ESIM_DB", "esim-admin.db", "SQLite database file")
	str(&cfg.SMTPAddr, "smtp", "ESIM_SMTP_ADDR", "", "mail server host:port; empty keeps emails in the outbox")
	str(&cfg.SMTPUser, "smtp-user", "ESIM_SMTP_USER", "", "mail server user name")
	str(&cfg.MailFrom, "mail-from", "ESIM_MAIL_FROM", "eSIM Travel <esim@example.com>", "sender of the customer emails")
	str(&cfg.BaseURL, "base-url", "ESIM_BASE_URL", "", "public URL of the portal, e.g. https://ap.example.com")
	str(&cfg.Proxies, "trusted-proxies", "ESIM_TRUSTED_PROXIES", "", "reverse proxies whose X-Forwarded-For names the client: IPs or CIDR ranges, comma-separated")
	// A number, a duration or a boolean from the environment that will not
	// parse is the first error said, before the flags are read.
	var envErr error
	boolean := func(p *bool, flagName, env string, def bool, usage string) {
		if v := getenv(env); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				envErr = cmp.Or(envErr, fmt.Errorf("%s must be true or false, not %q", env, v))
			} else {
				def = b
			}
		}
		fs.BoolVar(p, flagName, def, usage+" ("+env+")")
	}
	boolean(&cfg.Demo, "demo", "ESIM_DEMO", true, "load the demo data set into a new, empty database")
	num := func(p *int, flagName, env string, def int, unit, usage string) {
		if v := getenv(env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				envErr = cmp.Or(envErr, fmt.Errorf("%s must be a whole number%s, not %q", env, unit, v))
			} else {
				def = n
			}
		}
		fs.IntVar(p, flagName, def, usage+" ("+env+")")
	}
	dur := func(p *time.Duration, flagName, env string, def time.Duration, example, usage string) {
		if v := getenv(env); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				envErr = cmp.Or(envErr, fmt.Errorf("%s must be a duration such as %s, not %q", env, example, v))
			} else {
				def = d
			}
		}
		fs.DurationVar(p, flagName, def, usage+" ("+env+")")
	}
	num(&cfg.LowStock, "low-stock", "ESIM_LOW_STOCK", 20, "", "free eSIMs of a profile under which its stock shows as low")
	num(&cfg.ReorderDays, "reorder-days", "ESIM_REORDER_DAYS", db.DefaultReorderDays, " of days",
		"days a delivery of eSIMs takes to arrive: team leads are emailed when a profile runs out within them")
	num(&cfg.UsageWarn, "usage-warn", "ESIM_USAGE_WARN", db.DefaultNotices.LowPercent, " of percent",
		"percent of a plan's data used at which the customer is told it runs low")
	dur(&cfg.ExpiryWarn, "expiry-warn", "ESIM_EXPIRY_WARN", db.DefaultNotices.EndsSoon, "72h", "how long before a plan's end the customer is told it ends soon")
	str(&cfg.BackupDir, "backup-dir", "ESIM_BACKUP_DIR", "", "folder for the portal's own backups; empty makes none")
	dur(&cfg.BackupEvery, "backup-every", "ESIM_BACKUP_EVERY", 24*time.Hour, "6h", "time between two backups into -backup-dir")
	num(&cfg.BackupKeep, "backup-keep", "ESIM_BACKUP_KEEP", 7, "", "backups kept in -backup-dir, the newest")
	num(&cfg.Retention.UsageDays, "keep-usage-days", "ESIM_KEEP_USAGE_DAYS", db.DefaultRetention.UsageDays, " of days",
		"days usage records, attachments and profile events are kept whole, then rolled up per eSIM and day; older ones are refused")
	num(&cfg.Retention.EmailDays, "keep-email-days", "ESIM_KEEP_EMAIL_DAYS", db.DefaultRetention.EmailDays, " of days",
		"days a sent email's text is kept; then only what was sent, to whom, when and its state stay")
	str(&cfg.SMDPURL, "smdp-url", "ESIM_SMDP_URL", "", "the SM-DP+'s ES2+ base URL (https); empty uses the inventory's activation codes as delivered")
	str(&cfg.SMDPRequesterID, "smdp-requester-id", "ESIM_SMDP_REQUESTER_ID", "", "the carrier's ES2+ functionRequesterIdentifier")
	str(&cfg.SMDPCert, "smdp-cert", "ESIM_SMDP_CERT", "", "the portal's client certificate for the SM-DP+ (PEM file)")
	str(&cfg.SMDPKey, "smdp-key", "ESIM_SMDP_KEY", "", "the private key of -smdp-cert (PEM file)")
	str(&cfg.SMDPCA, "smdp-ca", "ESIM_SMDP_CA", "", "the CA of the SM-DP+'s server certificate (PEM file); empty uses the system roots")
	str(&cfg.ES2Addr, "es2-addr", "ESIM_ES2_ADDR", "", "address of the listener for the SM-DP+'s ES2+ notifications (mutual TLS); empty has none")
	str(&cfg.ES2Cert, "es2-cert", "ESIM_ES2_CERT", "", "the server certificate of -es2-addr (PEM file)")
	str(&cfg.ES2Key, "es2-key", "ESIM_ES2_KEY", "", "the private key of -es2-cert (PEM file)")
	str(&cfg.ES2ClientCA, "es2-client-ca", "ESIM_ES2_CLIENT_CA", "", "the CA that signs the SM-DP+'s client certificate (PEM file)")
	str(&cfg.OIDCIssuer, "oidc-issuer", "ESIM_OIDC_ISSUER", "", "issuer URL of the identity provider staff sign in with (OpenID Connect); empty turns single sign-on off")
	str(&cfg.OIDCGroupsClaim, "oidc-groups-claim", "ESIM_OIDC_GROUPS_CLAIM", "groups", "ID token claim that lists the person's groups")
	str(&cfg.OIDCLeadGroups, "oidc-lead-groups", "ESIM_OIDC_LEAD_GROUPS", "", "groups whose members sign in as team leads, comma-separated")
	str(&cfg.OIDCAgentGroups, "oidc-agent-groups", "ESIM_OIDC_AGENT_GROUPS", "", "groups whose members sign in as support agents, comma-separated")
	str(&cfg.OIDCName, "oidc-name", "ESIM_OIDC_NAME", "Sign in with your company account", "text of the single sign-on button, such as \"Sign in with Okta\"")
	boolean(&cfg.PasswordLogin, "password-login", "ESIM_PASSWORD_LOGIN", true, "let logins sign in with a password; off leaves it to break-glass logins")
	if envErr != nil {
		return cfg, nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintf(stderr, "Usage: %s [flags] [users add | inventory import FILE | demo scale | backup FILE | restore FILE | smdp-fake]\n", name)
			fs.PrintDefaults()
		}
		return cfg, nil, err
	}
	cfg.SMTPPassword = getenv("ESIM_SMTP_PASSWORD")
	cfg.SessionKey = getenv("ESIM_SESSION_KEY")
	cfg.APIToken = getenv("ESIM_API_TOKEN")
	cfg.MetricsToken = getenv("ESIM_METRICS_TOKEN")
	cfg.OIDCClientID = getenv("ESIM_OIDC_CLIENT_ID")
	cfg.OIDCClientSecret = getenv("ESIM_OIDC_CLIENT_SECRET")
	if err := cfg.check(); err != nil {
		return cfg, nil, err
	}
	return cfg, fs.Args(), nil
}

func (c config) check() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("-addr must be host:port, not %q", c.Addr)
	}
	if c.SMTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.SMTPAddr); err != nil {
			return fmt.Errorf("-smtp must be host:port, not %q", c.SMTPAddr)
		}
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-base-url must be an http or https URL, not %q", c.BaseURL)
		}
	}
	if _, err := c.trustedProxies(); err != nil {
		return err
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		return fmt.Errorf("-mail-from must be an email address such as \"eSIM Travel <esim@example.com>\", not %q", c.MailFrom)
	}
	if c.LowStock < 0 {
		return fmt.Errorf("-low-stock must not be negative")
	}
	if c.ReorderDays < 1 || c.ReorderDays > 365 {
		return fmt.Errorf("-reorder-days must be from 1 to 365 days, not %d", c.ReorderDays)
	}
	if c.UsageWarn < 1 || c.UsageWarn > 99 {
		return fmt.Errorf("-usage-warn must be a percent from 1 to 99, not %d", c.UsageWarn)
	}
	if c.ExpiryWarn < time.Hour || c.ExpiryWarn >= 30*24*time.Hour {
		return fmt.Errorf("-expiry-warn must be from 1h to under 30 days (720h), not %s", c.ExpiryWarn)
	}
	if c.DB == "" {
		return fmt.Errorf("-db must name a database file")
	}
	if c.SessionKey != "" && len(c.SessionKey) < 32 {
		return fmt.Errorf("ESIM_SESSION_KEY must be at least 32 characters")
	}
	if c.APIToken != "" && len(c.APIToken) < 32 {
		return fmt.Errorf("ESIM_API_TOKEN must be at least 32 characters, such as the output of: openssl rand -hex 32")
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 32 {
		return fmt.Errorf("ESIM_METRICS_TOKEN must be at least 32 characters, such as the output of: openssl rand -hex 32")
	}
	if c.BackupEvery < time.Minute {
		return fmt.Errorf("-backup-every must be a minute or more, not %s", c.BackupEvery)
	}
	if c.BackupKeep < 1 {
		return fmt.Errorf("-backup-keep must keep at least 1 backup")
	}
	// A record must stay whole longer than the plan it may be charged to runs.
	if c.Retention.UsageDays < 31 || c.Retention.UsageDays > 3650 {
		return fmt.Errorf("-keep-usage-days must be from 31 to 3650 days, longer than a plan's 30, not %d", c.Retention.UsageDays)
	}
	if c.Retention.EmailDays < 30 || c.Retention.EmailDays > 3650 {
		return fmt.Errorf("-keep-email-days must be from 30 to 3650 days, not %d", c.Retention.EmailDays)
	}
	if err := c.checkES2(); err != nil {
		return err
	}
	return c.checkSSO()
}

// checkES2 checks the SM-DP+'s flags: each side of ES2+ is mutual TLS, so
// each needs its certificates.
func (c config) checkES2() error {
	if c.SMDPURL != "" {
		if u, err := url.Parse(c.SMDPURL); err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("-smdp-url must be an https URL, not %q", c.SMDPURL)
		}
		if c.SMDPRequesterID == "" {
			return fmt.Errorf("-smdp-requester-id is required with -smdp-url: the SM-DP+ knows the carrier by it")
		}
		if c.SMDPCert == "" || c.SMDPKey == "" {
			return fmt.Errorf("-smdp-cert and -smdp-key are required with -smdp-url: ES2+ is mutual TLS")
		}
	} else if c.SMDPRequesterID != "" || c.SMDPCert != "" || c.SMDPKey != "" || c.SMDPCA != "" {
		return fmt.Errorf("-smdp-requester-id, -smdp-cert, -smdp-key and -smdp-ca need -smdp-url")
	}
	if c.ES2Addr != "" {
		if _, _, err := net.SplitHostPort(c.ES2Addr); err != nil {
			return fmt.Errorf("-es2-addr must be host:port, not %q", c.ES2Addr)
		}
		if c.ES2Cert == "" || c.ES2Key == "" || c.ES2ClientCA == "" {
			return fmt.Errorf("-es2-cert, -es2-key and -es2-client-ca are required with -es2-addr: only the SM-DP+'s client certificate may post to it")
		}
	} else if c.ES2Cert != "" || c.ES2Key != "" || c.ES2ClientCA != "" {
		return fmt.Errorf("-es2-cert, -es2-key and -es2-client-ca need -es2-addr")
	}
	return nil
}

// checkSSO checks the single sign-on settings, which only make sense together.
func (c config) checkSSO() error {
	if c.OIDCIssuer == "" {
		if !c.PasswordLogin {
			return fmt.Errorf("-password-login=false needs single sign-on: set -oidc-issuer, or nobody but break-glass logins could sign in")
		}
		return nil
	}
	u, err := url.Parse(c.OIDCIssuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return fmt.Errorf("-oidc-issuer must be an https URL such as https://login.example.com, not %q", c.OIDCIssuer)
	}
	switch {
	case c.OIDCClientID == "" || c.OIDCClientSecret == "":
		return fmt.Errorf("-oidc-issuer needs ESIM_OIDC_CLIENT_ID and ESIM_OIDC_CLIENT_SECRET: the portal's registration at the identity provider")
	case c.BaseURL == "":
		return fmt.Errorf("-oidc-issuer needs -base-url: the identity provider sends people back to %s", "<base-url>/login/oidc/callback")
	case strings.TrimSpace(c.OIDCGroupsClaim) == "":
		return fmt.Errorf("-oidc-groups-claim must name a claim, such as groups")
	case len(splitList(c.OIDCLeadGroups)) == 0 && len(splitList(c.OIDCAgentGroups)) == 0:
		return fmt.Errorf("-oidc-issuer needs -oidc-lead-groups or -oidc-agent-groups: the groups whose members may sign in")
	case strings.TrimSpace(c.OIDCName) == "":
		return fmt.Errorf("-oidc-name must be the button's text, such as \"Sign in with Okta\"")
	}
	return nil
}

// splitList reads a comma-separated list, leaving out empty entries.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// signIn is the single sign-on of -oidc-issuer, or nil when it is off.
func (c config) signIn() (*signin.Provider, error) {
	if c.OIDCIssuer == "" {
		return nil, nil
	}
	base := strings.TrimSuffix(c.BaseURL, "/")
	return signin.New(signin.Config{
		Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret,
		RedirectURL: base + "/login/oidc/callback", SignedOutURL: base + "/login",
		GroupsClaim: strings.TrimSpace(c.OIDCGroupsClaim),
		LeadGroups:  splitList(c.OIDCLeadGroups), AgentGroups: splitList(c.OIDCAgentGroups),
	})
}

// notices are when the customer hears about a plan's data and end.
func (c config) notices() db.NoticeSettings {
	return db.NoticeSettings{LowPercent: c.UsageWarn, EndsSoon: c.ExpiryWarn}
}

// trustedProxies reads -trusted-proxies: each entry an IP address (one
// host) or a CIDR range.
func (c config) trustedProxies() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, entry := range splitList(c.Proxies) {
		if ip := net.ParseIP(entry); ip != nil {
			bits := 128
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(entry)
		if err != nil {
			return nil, fmt.Errorf("-trusted-proxies must list IP addresses or CIDR ranges such as 10.0.0.0/8, not %q", entry)
		}
		out = append(out, n)
	}
	return out, nil
}

// brand is the name the customer emails are signed with: the display name of
// the sender address.
func (c config) brand() string {
	if a, err := mail.ParseAddress(c.MailFrom); err == nil && a.Name != "" {
		return a.Name
	}
	return "eSIM Travel"
}

// secure reports whether the portal is served over https.
func (c config) secure() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// listenURL is the address to open in a browser.
func (c config) listenURL() string {
	if c.BaseURL != "" {
		return c.BaseURL
	}
	return "http://" + c.Addr
}
