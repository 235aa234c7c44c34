// Command esim-admin is the eSIM Admin Portal: the web app in which a
// carrier's support agents give subscribers travel eSIMs.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/emails"
	"github.com/carrier/esim-admin/handlers"
	"github.com/carrier/esim-admin/smdp"
	"github.com/carrier/esim-admin/static"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "esim-admin:", err)
		}
		os.Exit(1)
	}
}

// run starts the portal, or runs a command such as "users add".
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, rest, err := parseConfig("esim-admin", args, getenv, stderr)
	if err != nil {
		return err
	}
	// Backup and restore work on the file, never through a store: opening
	// one would migrate a database that a portal of another version serves.
	if len(rest) > 0 && (rest[0] == "backup" || rest[0] == "restore") {
		return fileCommand(ctx, cfg, rest[0], rest[1:], stdout)
	}
	// The test SM-DP+ has no database of the portal's.
	if len(rest) > 0 && rest[0] == "smdp-fake" {
		return smdpFake(ctx, rest[1:], stdin, stdout, stderr)
	}
	if len(rest) == 0 {
		lock, err := db.LockDatabase(cfg.DB, fmt.Sprintf("a portal, pid %d, on %s since %s", os.Getpid(), cfg.Addr, time.Now().UTC().Format(time.RFC3339)))
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	store, err := db.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	// Emails are rendered in the change that queues them, whoever makes it:
	// the server, a command, the demo data.
	store.Mail = emails.Renderer{Brand: cfg.brand()}
	store.Notices = cfg.notices()
	store.Retention = cfg.Retention
	if len(rest) > 0 {
		// An inventory file may leave matching IDs to the SM-DP+.
		store.SMDP = cfg.SMDPURL != ""
		return command(ctx, store, rest, stdin, stdout, stderr)
	}
	return serve(ctx, cfg, store, stdout)
}

func serve(ctx context.Context, cfg config, store *db.Store, stdout io.Writer) error {
	// The log keeps no email address, whoever writes to it: the scheduler,
	// the backups and pruning too, not only the handlers and the outbox.
	log := slog.New(emails.Redact(slog.NewJSONHandler(stdout, nil)))
	if cfg.Demo {
		seeded, err := demo.Seed(ctx, store)
		if err != nil {
			return fmt.Errorf("load demo data: %w", err)
		}
		if seeded {
			log.Info("loaded the demo data set", "db", cfg.DB)
		}
	}
	key := []byte(cfg.SessionKey)
	if len(key) == 0 {
		var err error
		if key, err = store.SessionKey(ctx); err != nil {
			return err
		}
	}
	go store.PruneEvery(ctx, time.Hour, log)
	metrics := handlers.NewMetrics(store)
	store.Observe = metrics.ObserveCommit
	go store.RetainEvery(ctx, 10*time.Minute, log, metrics.RetentionStep)
	go static.Precompress()
	mailQueued := func() {}
	var outbox func() emails.Status
	if cfg.SMTPAddr != "" {
		sender, err := emails.NewSender(emails.SMTPConfig{Addr: cfg.SMTPAddr, Username: cfg.SMTPUser, Password: cfg.SMTPPassword, From: cfg.MailFrom})
		if err != nil {
			return err
		}
		worker := &emails.Worker{Store: store, Sender: sender, Logger: log, Now: store.Now}
		go worker.Run(ctx)
		mailQueued = worker.Notify
		outbox = worker.Status
	}
	var provisioning func() time.Time
	if cfg.SMDPURL != "" {
		// After the demo data: its lines were made without an SM-DP+.
		worker, err := startProvisioning(ctx, cfg, store, log, mailQueued, metrics.SMDPCall)
		if err != nil {
			return err
		}
		outboxQueued := mailQueued
		mailQueued = func() { outboxQueued(); worker.Notify() }
		provisioning = worker.LastRun
	}
	if cfg.BackupDir != "" {
		go backupLoop(ctx, log, cfg, metrics.BackupDone)
	}
	scheduler := &emails.Scheduler{Store: store, Queued: mailQueued, Logger: log, Stock: store, ReorderDays: cfg.ReorderDays, Now: store.Now}
	go scheduler.Run(ctx)
	proxies, err := cfg.trustedProxies()
	if err != nil {
		return err
	}
	sso, err := cfg.signIn()
	if err != nil {
		return err
	}
	cookie := "esim_session"
	if cfg.secure() {
		cookie = "__Host-esim_session"
	}
	h := handlers.New(handlers.Handlers{
		Store:        store,
		Sessions:     handlers.NewSessionStore(store, key, cfg.secure()),
		Log:          log,
		CookieName:   cookie,
		MailHeld:     cfg.SMTPAddr == "",
		MailQueued:   mailQueued,
		Demo:         cfg.Demo,
		Secure:       cfg.secure(),
		BaseURL:      cfg.BaseURL,
		Proxies:      proxies,
		LowStock:     cfg.LowStock,
		ReorderDays:  cfg.ReorderDays,
		APIToken:     cfg.APIToken,
		MetricsToken: cfg.MetricsToken,
		Metrics:      metrics,
		Outbox:       outbox,
		Provisioning: provisioning,
		SSO:          sso,
		SSOName:      cfg.OIDCName,
		PasswordOff:  !cfg.PasswordLogin,
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h.Routes(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	if cfg.ES2Addr != "" {
		es2, err := es2Server(cfg, h)
		if err != nil {
			return err
		}
		es2ln, err := net.Listen("tcp", cfg.ES2Addr)
		if err != nil {
			return err
		}
		servers = append(servers, es2)
		go func() { errc <- es2.ServeTLS(es2ln, "", "") }()
		fmt.Fprintf(stdout, "ES2+ for the SM-DP+: https://%s%s\n", cfg.ES2Addr, smdp.PathPrefix)
	}
	fmt.Fprintf(stdout, "eSIM Admin Portal: open %s\n", cfg.listenURL())
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for _, s := range servers {
		errs = append(errs, s.Shutdown(shutdown))
	}
	return errors.Join(errs...)
}

// startProvisioning turns on the SM-DP+ (GSMA ES2+): Add line and Replace
// eSIM order the profile and hold the QR email until it is released, and the
// worker it returns makes the calls.
func startProvisioning(ctx context.Context, cfg config, store *db.Store, log *slog.Logger, mailQueued func(), observe func(string, string)) (*smdp.Worker, error) {
	client, err := smdp.NewClient(smdp.Config{URL: cfg.SMDPURL, RequesterID: cfg.SMDPRequesterID, CertFile: cfg.SMDPCert, KeyFile: cfg.SMDPKey, CAFile: cfg.SMDPCA})
	if err != nil {
		return nil, err
	}
	store.SMDP = true
	worker := &smdp.Worker{Store: store, Client: client, Logger: log, Now: store.Now, MailQueued: mailQueued, Observe: observe}
	go worker.Run(ctx)
	return worker, nil
}

// es2Server is the listener of the SM-DP+'s notifications: mutual TLS, and
// only a client certificate of -es2-client-ca gets past the handshake.
func es2Server(cfg config, h *handlers.Handlers) (*http.Server, error) {
	cert, err := tls.LoadX509KeyPair(cfg.ES2Cert, cfg.ES2Key)
	if err != nil {
		return nil, fmt.Errorf("-es2-cert and -es2-key: %w", err)
	}
	pool, err := smdp.LoadCA(cfg.ES2ClientCA)
	if err != nil {
		return nil, fmt.Errorf("-es2-client-ca: %w", err)
	}
	return &http.Server{Handler: h.ES2Routes(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}}, nil
}

// command runs a command-line command on the store.
func command(ctx context.Context, store *db.Store, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch strings.Join(args[:min(2, len(args))], " ") {
	case "users add":
		return addUser(ctx, store, args[2:], stdin, stdout, stderr)
	case "inventory import":
		return importInventory(ctx, store, args[2:], stdout, stderr)
	case "plans import":
		return importPlans(ctx, store, args[2:], stdout, stderr)
	case "demo scale":
		return demoScale(ctx, store, args[2:], stdout, stderr)
	case "demo year":
		return demoYear(ctx, store, args[2:], stdout, stderr)
	case "api-clients add":
		return addAPIClient(ctx, store, args[2:], stdout, stderr)
	case "subscribers import":
		return importSubscribers(ctx, store, args[2:], stdout, stderr)
	}
	return fmt.Errorf("unknown command %q; commands: users add, api-clients add, subscribers import, plans import, inventory import, demo scale, demo year, backup, restore, smdp-fake",
		strings.Join(args, " "))
}

// addUser creates a login; the password is read from standard input so it
// never shows in a process list or shell history.
func addUser(ctx context.Context, store *db.Store, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "email address to sign in with")
	name := fs.String("name", "", "full name")
	role := fs.String("role", "agent", "agent or lead")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" || *name == "" {
		return errors.New("users add needs --email and --name")
	}
	fmt.Fprint(stderr, "Password (8 characters or more): ")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	l, err := store.CreateLogin(ctx, *email, *name, db.Role(*role), strings.TrimRight(line, "\r\n"))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nAdded %s (%s) as %s.\n", l.Email, l.Name, l.Role.Label())
	return nil
}

// importInventory adds the eSIMs of a CSV file to the stock, all or nothing,
// as the import page does; a refused file lists its lines to fix.
func importInventory(ctx context.Context, store *db.Store, args []string, stdout, stderr io.Writer) error {
	return importFile(args, "inventory import", stdout, stderr, func(f io.Reader) (string, db.Errors, error) {
		res, bad, err := store.ImportInventory(ctx, f, db.Login{})
		return "Added " + res.Summary() + ".", bad, err
	})
}

// importPlans loads the plans of a CSV file into the catalog, all or
// nothing; a refused file lists its lines to fix.
func importPlans(ctx context.Context, store *db.Store, args []string, stdout, stderr io.Writer) error {
	return importFile(args, "plans import", stdout, stderr, func(f io.Reader) (string, db.Errors, error) {
		plans, bad, err := store.ImportPlans(ctx, f, db.Login{})
		onSale := 0
		for _, p := range plans {
			if p.Active {
				onSale++
			}
		}
		return fmt.Sprintf("Added %d plans to the catalog, %d of them on sale.", len(plans), onSale), bad, err
	})
}

// importFile runs an import of the file named by args, and prints what it
// added, or the lines to fix when it was refused.
func importFile(args []string, command string, stdout, stderr io.Writer, load func(io.Reader) (string, db.Errors, error)) error {
	if len(args) != 1 {
		return errors.New("usage: " + command + " FILE.csv")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	done, bad, err := load(f)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		const shown = 200
		for _, e := range bad[:min(len(bad), shown)] {
			fmt.Fprintln(stderr, e)
		}
		if len(bad) > shown {
			fmt.Fprintf(stderr, "…and %d lines more.\n", len(bad)-shown)
		}
		return fmt.Errorf("nothing was added: %d lines of %s need fixing", len(bad), args[0])
	}
	fmt.Fprintln(stdout, done)
	return nil
}

// demoScale fills a new or demo database with a large made-up data set, to
// see how the portal fares with a million eSIMs.
func demoScale(ctx context.Context, store *db.Store, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	esims := fs.Int("esims", 1_000_000, "eSIMs in the inventory")
	subscribers := fs.Int("subscribers", 100_000, "subscribers")
	seed := fs.Uint64("seed", 1, "seed of the made-up data: the same seed and sizes give the same data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	r, err := demo.SeedScale(ctx, store, demo.ScaleOptions{ESIMs: *esims, Subscribers: *subscribers, Seed: *seed})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Added %d subscribers, %d logins and %d eSIMs (%d free, %d allocated, %d retired) with %d plans on their lines, in %s.\n",
		r.Subscribers, r.Logins, r.Free+r.Allocated+r.Retired, r.Free, r.Allocated, r.Retired, r.LinePlans, time.Since(start).Round(time.Second/10))
	return nil
}

// demoYear lays down a simulated year of travellers into a new database,
// with the retention pass run every night, and says how big the file grew.
func demoYear(ctx context.Context, store *db.Store, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo year", flag.ContinueOnError)
	fs.SetOutput(stderr)
	travellers := fs.Int("travellers", 100_000, "subscribers abroad at any time, each with an hourly usage record")
	days := fs.Int("days", 365, "days the clock walks through")
	seed := fs.Uint64("seed", 1, "seed of the made-up data: the same seed and sizes give the same year")
	batch := fs.Int("rollup-batch", db.RollUpBatch, "records a change of the retention pass rolls up")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Simulating %d days of %d travellers abroad, usage records kept whole %d days…\n", *days, *travellers, store.Retention.UsageDays)
	fmt.Fprintln(stdout, "day  date        file MB  +MB/30d  records whole  usage days  attachments  emails (with text)  trips  elapsed")
	var last int64
	r, err := demo.SeedYear(ctx, store, demo.YearOptions{Travellers: *travellers, Days: *days, Seed: *seed, RollUpBatch: *batch,
		Progress: func(p demo.YearProgress) {
			f := p.Footprint
			fmt.Fprintf(stdout, "%3d  %s  %7.1f  %7.1f  %13d  %10d  %11d  %7d (%7d)  %5d  %s\n", p.Day, p.At.Format("2006-01-02"),
				mb(f.Bytes()), mb(f.Bytes()-last), f.UsageRecords, f.UsageDays, f.Attachments+f.AttachmentDays, f.Emails, f.EmailTexts,
				p.Trips, p.Elapsed.Round(time.Second))
			last = f.Bytes()
		}})
	if err != nil {
		return err
	}
	f, err := store.Footprint(ctx, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nA year of %d travellers in %s: %d trips, %d lines, %d plans added to a line held, %d usage records, %d emails sent.\n",
		*travellers, r.Elapsed.Round(time.Second), r.Trips, r.Lines, r.TopUps, r.Records, r.Emails)
	if r.RollUpTime > 0 {
		fmt.Fprintf(stdout, "Retention pass: %d records rolled up at %.0f records/s of its changes' time; its longest change %s (%s).\n",
			r.RolledUp, float64(r.RolledUp)/r.RollUpTime.Seconds(), r.Longest.Round(time.Millisecond/10), r.LongestKind)
	}
	fmt.Fprintf(stdout, "File: %.1f MB (%d free pages). By table, with its indexes:\n", mb(f.Bytes()), f.FreePages)
	for _, t := range f.Tables {
		if t.Bytes+t.Indexes >= f.Bytes()/100 {
			fmt.Fprintf(stdout, "  %-22s %8.1f MB  (indexes %.1f MB)\n", t.Table, mb(t.Bytes+t.Indexes), mb(t.Indexes))
		}
	}
	return nil
}

func mb(n int64) float64 { return float64(n) / 1e6 }
